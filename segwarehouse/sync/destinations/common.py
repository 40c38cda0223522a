"""Small pieces the email-tool destinations share: JSON-safe field values, reading a vendor's error
body, and stopping a sync with a clear message that never carries a secret."""
from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any, Iterable, Mapping, Optional, Sequence

import httpx

from ..http import GaveUp
from ..records import Change

MISSING_IDENTIFIER = "no identifier: the person has no value for the destination's identifier"


def plain(value: Any) -> Any:
    """A warehouse value as JSON: dates as ISO strings, decimals as numbers, anything else as text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, (uuid.UUID, bytes)):
        return value.hex() if isinstance(value, bytes) else str(value)
    return str(value)


def plain_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): plain(v) for k, v in fields.items()}


def identified(batch: Sequence[Change]) -> tuple[list[int], dict[int, str]]:
    """Indexes of the changes that carry an identifier, and rejections for those that do not
    (a NULL email cannot be sent, and would make the vendor refuse the whole batch)."""
    keep, rejected = [], {}
    for i, change in enumerate(batch):
        if change.identifier is None or not str(change.identifier).strip():
            rejected[i] = MISSING_IDENTIFIER
        else:
            keep.append(i)
    return keep, rejected


def body(response: httpx.Response) -> Any:
    """The response's JSON, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def vendor_message(response: httpx.Response, keys: Iterable[str] = ("message", "msg", "error_description",
                                                                     "error")) -> str:
    """The vendor's own words for an error response, short, or the HTTP status."""
    data = body(response)
    if isinstance(data, dict):
        for key in keys:
            if isinstance(data.get(key), str) and data[key]:
                return data[key][:300]
    return f"HTTP {response.status_code}"


def redact(text: str, secrets: Iterable[Optional[str]]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def stop(destination: Any, what: str, response: Optional[httpx.Response] = None) -> GaveUp:
    """An error that stops this destination's sync without acknowledging the batch (the cursor stays):
    refused credentials or a list that does not exist are not the records' fault, so they must not
    be split and written off as rejections."""
    detail = f" (HTTP {response.status_code}: {vendor_message(response)})" if response is not None else ""
    secrets = [str(destination.settings.get(name) or "") for name in getattr(destination, "secret_settings", ())]
    return GaveUp(redact(f"destination '{destination.name}' ({destination.type}): {what}{detail}", secrets))
