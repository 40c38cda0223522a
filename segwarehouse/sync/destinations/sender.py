"""Sender.net groups (`list:` is the group id), people matched by email.

Group membership calls take many emails at once and answer with per-email buckets, but only for people
who already exist as subscribers. So an add: (1) people whose `fields` ride along are upserted first
(POST /subscribers; 409/422 means they exist: PATCH /subscribers/{email}), so group-join automations see
current fields; (2) one POST /subscribers/groups/{id} for the batch; (3) people it reports as
non-existing are created straight into the group. Removal is one DELETE /subscribers/groups/{id}.

Buckets: `invalid_emails` are rejected per record; `subscribers_with_group_already` (add) and
`subscribers_without_group_already` / `non_existing_subscribers` (remove) are acknowledged, since the
group already is as asked, which also makes resends harmless. Sender has no event API; a group join is
what starts its automations (`trigger_automation`, true by default as in Sender's API), so
`on_enter: event` is not offered.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Any, ClassVar, Optional, Sequence
from urllib.parse import quote

import httpx

from ..http import RateLimit, retry_after_header
from ..records import ADD, REMOVE, Change, Outcome, Rejected, Subscription
from .base import Destination
from .replies import body, check, check_list, identified, jsonable, stop, vendor_message

INVALID_EMAIL = "invalid email address (Sender: invalid_emails)"
PROFILE_KEYS = ("firstname", "lastname", "phone")  # top-level subscriber attributes, not custom fields


class Sender(Destination):
    type = "sender"
    # Sender documents no maximum for the emails of one group call. 100 keeps each request small and
    # its per-email answer easy to act on, and at the documented 60 requests a minute still moves
    # 6,000 memberships a minute; people whose fields change cost a request each anyway.
    batch_size = 100
    rate = RateLimit(60, 60.0)       # per-minute window; plans differ: requests_per_minute
    default_base_url = "https://api.sender.net/v2"
    required_settings = ("api_token",)
    optional_settings = ("trigger_automation", "requests_per_minute")
    rate_setting = "requests_per_minute"
    secret_settings: ClassVar[tuple[str, ...]] = ("api_token",)
    actions = (ADD, REMOVE)
    refused = "Sender refused the API token; check api_token"
    denied = "the API token may not do this"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.get('api_token') or ''}", "Accept": "application/json"}

    def retry_after(self, response: httpx.Response) -> Optional[float]:
        """Retry-After on a 429; otherwise, with the window used up, the time X-RateLimit-Reset names
        (a date-time, a unix timestamp or seconds)."""
        wait = retry_after_header(response)
        if wait is not None or response.headers.get("X-RateLimit-Remaining") != "0":
            return wait
        return seconds_until(response.headers.get("X-RateLimit-Reset"))

    @property
    def trigger_automation(self) -> bool:
        value = self.settings.get("trigger_automation", True)
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")

    # --- send ---------------------------------------------------------------------------------
    def deliver(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        keep, rejected = identified(batch, self.identifier)
        group = self._group(subscription)
        if action == ADD:
            for i in keep:
                if batch[i].fields:
                    reason = self._upsert(batch[i])
                    if reason:
                        rejected[i] = reason
            pending = [i for i in keep if i not in rejected]
            rejected.update(self._join(group, batch, pending))
        else:
            pending = keep
            if pending:
                buckets = self._membership("DELETE", group, [email(batch[i]) for i in pending])
                invalid = lowered(buckets.get("invalid_emails"))
                rejected.update({i: INVALID_EMAIL for i in pending if email(batch[i]).lower() in invalid})
        return Outcome(rejected)

    def _join(self, group: str, batch: Sequence[Change], pending: list[int]) -> dict[int, str]:
        if not pending:
            return {}
        rejected: dict[int, str] = {}
        buckets = self._membership("POST", group, [email(batch[i]) for i in pending])
        invalid = lowered(buckets.get("invalid_emails"))
        missing = lowered(buckets.get("non_existing_subscribers"))
        for i in pending:
            address = email(batch[i]).lower()
            if address in invalid:
                rejected[i] = INVALID_EMAIL
            elif address in missing:
                reason = self._create_in_group(batch[i], group)
                if reason:
                    rejected[i] = reason
        return rejected

    # --- calls --------------------------------------------------------------------------------
    def _membership(self, method: str, group: str, emails: list[str]) -> dict[str, Any]:
        payload: dict[str, Any] = {"subscribers": emails}
        if method == "POST":
            payload["trigger_automation"] = self.trigger_automation
        response = self.http.request(method, f"/subscribers/groups/{quote(group, safe='')}", json=payload)
        check_list(self, response, group, "group")  # an unknown group is a 404 (api.sender.net: 404 unknown resource)
        data = body(response)
        if response.status_code >= 400 or not isinstance(data, dict):
            raise Rejected(f"Sender refused the group call: {describe(response)}")
        buckets = data.get("message")
        return buckets if isinstance(buckets, dict) else {}

    def _upsert(self, change: Change) -> Optional[str]:
        """Create the subscriber with their fields, or update the fields of the one that exists.
        None when done, else the reason this record is rejected."""
        created = self.http.request("POST", "/subscribers",
                                    json={"email": email(change), **profile(change.fields), "trigger_automation": False})
        check(self, created)
        if created.status_code in (200, 201):
            return None
        if created.status_code not in (409, 422):
            return f"Sender refused the subscriber: {describe(created)}"
        # 409/422: most often "already exists" (also used for validation errors: the update decides)
        updated = self.http.request("PATCH", f"/subscribers/{quote(email(change), safe='@')}",
                                    json={**profile(change.fields), "trigger_automation": False})
        check(self, updated)
        if updated.status_code == 200:
            return None
        return f"Sender refused the subscriber: {describe(created)}"

    def _create_in_group(self, change: Change, group: str) -> Optional[str]:
        created = self.http.request("POST", "/subscribers", json={
            "email": email(change), **profile(change.fields), "groups": [group],
            "trigger_automation": self.trigger_automation})
        check(self, created)
        if created.status_code in (200, 201):
            return None
        if created.status_code in (409, 422):
            # created meanwhile by someone else? Then joining the group now works.
            buckets = self._membership("POST", group, [email(change)])
            joined = lowered(buckets.get("subscribers_add_tag_group")) | lowered(
                buckets.get("subscribers_with_group_already"))
            if email(change).lower() in joined:
                return None
        return f"Sender refused the subscriber: {describe(created)}"

    def _group(self, subscription: Subscription) -> str:
        group = (subscription.list or "").strip()
        if not group:
            raise stop(self, "`list:` must be a Sender group id")
        return group


def email(change: Change) -> str:
    return str(change.identifier).strip()


def lowered(values: Any) -> set[str]:
    return {str(v).lower() for v in values} if isinstance(values, list) else set()


def profile(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields as Sender wants them: first/last name and phone at the top, custom fields keyed by
    their merge tag `{$name}`."""
    top = {k: jsonable(v) for k, v in fields.items() if k in PROFILE_KEYS}
    custom = {(k if k.startswith("{$") else f"{{${k}}}"): jsonable(v) for k, v in fields.items()
              if k not in PROFILE_KEYS}
    return {**top, "fields": custom} if custom else top


def describe(response: httpx.Response) -> str:
    """The vendor's message plus its per-field validation errors."""
    text = vendor_message(response)
    data = body(response)
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, dict):
        details = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in errors.items())
        if details and details not in text:
            text = f"{text} ({details})"
    return f"{text} [HTTP {response.status_code}]"


def seconds_until(reset: Optional[str]) -> Optional[float]:
    if not reset:
        return None
    try:
        value = float(reset)
    except ValueError:
        try:
            when = dt.datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())
    return max(0.0, value - time.time()) if value > 1e9 else max(0.0, value)
