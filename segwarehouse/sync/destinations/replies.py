"""What the destinations share in building requests and reading their vendors' answers: JSON-safe
field values and times, event names, which changes carry an identifier, bodies that may not be JSON,
the vendor's own words for an error, and stopping a sync when our credentials, a list or an endpoint
are refused.

Errors name the destination, its type and the HTTP status; a vendor's message is taken only from a
few short JSON fields (never the raw body), clipped, and every secret setting is masked out of the
whole text, since some vendors echo the key back."""
from __future__ import annotations

import calendar
import datetime as dt
import decimal
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence

from ...spec.values import utc_z  # noqa: F401 - the destinations import it from here
from ..http import GaveUp
from ..records import Change

if TYPE_CHECKING:
    import httpx

    from .base import Destination

MESSAGE_KEYS = ("message", "msg", "error_description", "error")


class AccessDenied(GaveUp):
    """The vendor refused our credentials or their permissions (401/403): nothing was acknowledged and
    splitting the batch would not help, so the sync stops with the cursor where it was."""


class NotFound(GaveUp):
    """The vendor does not know the list or endpoint (404): a setting is wrong, not a record."""


class UnknownList(NotFound):
    """The vendor does not know the subscription's `list:` (a 404, or the vendor's own not-found 400,
    as each destination's `unknown_list` reads it): the sync stops with the cursor kept, and no batch is
    split, since every record would be refused the same way."""


# --- values we send ---------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """A warehouse value as JSON: datetimes as ISO 8601 with an offset (naive ones are UTC), dates and
    times as ISO strings, decimals as numbers, UUIDs as text, bytes as hex, anything else unknown as
    text; mappings and sequences value by value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return iso_time(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)  # uuid.UUID and anything else


def iso_time(moment: dt.datetime) -> str:
    """ISO 8601 with an offset; warehouse timestamps without one are UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.isoformat()


def unix_time(moment: dt.datetime) -> int:
    """Whole seconds since the epoch; warehouse timestamps without an offset are UTC."""
    return calendar.timegm(moment.utctimetuple())


def event_name(change: str) -> str:
    """The event an `event` action sends: people who exited leave, everyone else entered."""
    return "Exited segment" if change == "exited" else "Entered segment"


def identified(batch: Sequence[Change], identifier: str) -> tuple[list[int], dict[int, str]]:
    """Indexes of the changes that carry an identifier, and rejections for those that do not (a NULL
    or blank email cannot be sent, and would make the vendor refuse the whole batch)."""
    keep, rejected = [], {}
    for i, change in enumerate(batch):
        if change.identifier is None or not str(change.identifier).strip():
            rejected[i] = missing_identifier(identifier)
        else:
            keep.append(i)
    return keep, rejected


def missing_identifier(identifier: str) -> str:
    return f"no {identifier} for this person"


# --- answers we read ----------------------------------------------------------------------------------
def body(response: httpx.Response) -> Any:
    """The response's JSON, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def clip(text: Any, limit: int = 300) -> str:
    """One line of at most `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def vendor_message(response: httpx.Response, keys: Iterable[str] = MESSAGE_KEYS) -> str:
    """The vendor's own words for an error response, short, or the HTTP status."""
    data = body(response)
    if isinstance(data, dict):
        for key in keys:
            if isinstance(data.get(key), str) and data[key]:
                return clip(data[key])
    return f"HTTP {response.status_code}"


def redact(text: str, secrets: Iterable[Optional[str]]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


# --- stopping a sync ----------------------------------------------------------------------------------
def stop(destination: Destination, what: str, response: Optional[httpx.Response] = None) -> GaveUp:
    """An error that stops this destination's sync without acknowledging the batch (the cursor stays):
    refused credentials or a list that does not exist are not the records' fault, so they must not be
    split and written off as rejections. AccessDenied on 401/403, NotFound on 404."""
    detail = ""
    if response is not None:
        message = vendor_message(response)
        status = f"HTTP {response.status_code}"
        detail = f" ({status}: {message})" if message != status else f" ({status})"
    kind = GaveUp
    if response is not None and response.status_code in (401, 403):
        kind = AccessDenied
    elif response is not None and response.status_code == 404:
        kind = NotFound
    secrets = [str(destination.settings.get(name) or "") for name in destination.secret_settings]
    return kind(redact(f"destination '{destination.name}' ({destination.type}): {what}{detail}", secrets))


def check(destination: Destination, response: httpx.Response, missing: Optional[str] = None) -> None:
    """Stop on refused credentials (401), refused permission (403) and, when `missing` names what a 404
    means (a list, the base_url), on 404. The destination's `refused` / `denied` say what to check."""
    status = response.status_code
    if status == 401:
        raise stop(destination, destination.refused or f"{destination.type} refused the credentials; "
                                                       f"check {' and '.join(destination.secret_settings)}",
                   response)
    if status == 403:
        raise stop(destination, destination.denied or f"{destination.type} denied permission; check "
                                                      f"{' and '.join(destination.secret_settings)} and its "
                                                      "permissions", response)
    if status == 404 and missing:
        raise stop(destination, f"{missing} not found", response)



def check_list(destination: Destination, response: httpx.Response, list_id: object, what: str = "list") -> None:
    """check(), then stop with UnknownList when the destination reads the answer as "no such list"
    (`what` is the vendor's word for it: list, address book, group)."""
    check(destination, response)
    if destination.unknown_list(response):
        error = stop(destination, f"{what} {str(list_id)!r} does not exist", response)
        raise UnknownList(str(error))
