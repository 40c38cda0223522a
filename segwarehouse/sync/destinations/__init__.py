"""Destination types, imported only when a project uses them."""
from __future__ import annotations

import importlib
from typing import Any

from .base import Destination

TYPES = {
    "customerio": "customerio:CustomerIO",
    "braze": "braze:Braze",
    "klaviyo": "klaviyo:Klaviyo",
    "mailchimp": "mailchimp:Mailchimp",
    "sendpulse": "sendpulse:SendPulse",
    "sender": "sender:Sender",
    "iterable": "iterable:Iterable",
    "webhook": "webhook:Webhook",
    "csv": "csv_files:CsvFiles",
}


def destination_class(kind: str) -> type[Destination]:
    module, cls = TYPES[kind].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def destination_for(name: str, settings: dict[str, Any]) -> Destination:
    return destination_class(settings["type"])(name, settings)
