"""What reading vendor answers has in common: bodies that may not be JSON, credentials refused,
values that must become JSON. Errors name the destination and the HTTP status, never a credential
and never a refused response's body (some vendors echo the key back)."""
from __future__ import annotations

import datetime as dt
import decimal
from typing import Any, Optional

import httpx

from ..http import GaveUp


class AccessDenied(GaveUp):
    """The vendor refused our credentials or their permissions (401/403): nothing was acknowledged and
    splitting the batch would not help, so the sync stops with the cursor where it was."""


class NotFound(GaveUp):
    """The vendor does not know the list or endpoint (404): a setting is wrong, not a record."""


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def clip(text: Any, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_access(name: str, response: httpx.Response, what: str = "api_key") -> None:
    """Raise AccessDenied on 401/403 (without the body: it may echo the credential)."""
    if response.status_code in (401, 403):
        refused = "refused the credentials" if response.status_code == 401 else "denied permission"
        raise AccessDenied(f"destination {name!r}: HTTP {response.status_code}, the vendor {refused}; "
                           f"check {what} and its permissions")


def check_found(name: str, response: httpx.Response, what: str) -> None:
    if response.status_code == 404:
        raise NotFound(f"destination {name!r}: HTTP 404 for {response.request.method} "
                       f"{response.request.url.path}; check {what}")


def jsonable(value: Any) -> Any:
    """Warehouse values (dates, decimals) as JSON values, so `fields` can ride along."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return iso_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def iso_time(moment: dt.datetime) -> str:
    """ISO 8601 with an offset; warehouse timestamps without one are UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.isoformat()


def event_name(change: str) -> str:
    return "Exited segment" if change == "exited" else "Entered segment"


def present(identifier: Optional[str]) -> bool:
    return identifier is not None and str(identifier).strip() != ""
