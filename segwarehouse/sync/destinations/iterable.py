"""Iterable static lists (`list:` is the numeric list id), people matched by email, or by userId when
`identifier:` names anything else (e.g. `key`).

Adds are POST /api/lists/subscribe with `fields` as dataFields (an upsert: resending is harmless);
removals are POST /api/lists/unsubscribe, where someone not in the list, or not known at all, is
already as asked and so acknowledged. Both answer 200 with successCount / failCount / failedUpdates
(lists of identifiers per kind of failure), mapped back to the batch's indexes. `on_enter: event`
(and `on_exit: event`) send POST /api/events/track, one per person, with an event id derived from the
change so that a resent batch updates the same events instead of starting flows twice. Events have a
rate of their own (Iterable documents about 2,000 requests/s per project for events/track, far above
the list calls' pace), so they go through their own client, several at a time.

Iterable documents only 200/400/401 for the list calls: an unknown list id is a 400 whose code or
message says the list was not found; it stops the sync (replies.check_list) instead of being split.
"""
from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, Optional, Sequence

import httpx

from ..http import RateLimit
from ..records import ADD, EVENT, REMOVE, Change, Outcome, Rejected, Subscription
from .base import Destination
from .replies import body, check, check_list, event_name, identified, jsonable, stop, unix_time, vendor_message

# failedUpdates keys -> the reason written to segment_sync_rejections
FAILURES = {
    "invalidEmails": "invalid email", "invalidUserIds": "invalid userId",
    "notFoundEmails": "no Iterable user with this email", "notFoundUserIds": "no Iterable user with this userId",
    "forgottenEmails": "user was forgotten (GDPR request)", "forgottenUserIds": "user was forgotten (GDPR request)",
    "conflictEmails": "email belongs to another user", "conflictUserIds": "userId belongs to another user",
    "invalidDataEmails": "invalid dataFields", "invalidDataUserIds": "invalid dataFields",
}


# an unknown list: Iterable's error codes include NotFound; its messages name the missing list
LIST_NOT_FOUND = re.compile(r"list.*(not found|does not exist|doesn't exist)|notfound", re.IGNORECASE)


class Iterable(Destination):
    type = "iterable"
    batch_size = 1000                # subscribers per list call (common practice; the fake enforces it)
    rate = RateLimit(10, 1.0)        # conservative: Iterable's per-endpoint limits are higher for most calls
    # events/track: "2,000 requests per second per project" (Iterable API docs, rate limits table)
    event_rate = RateLimit(2000, 1.0)
    event_concurrency = 16           # events of one batch in flight at once (one request per person)
    default_base_url = "https://api.iterable.com"  # EU projects: base_url: https://api.eu.iterable.com
    required_settings = ("api_key",)
    optional_settings = ("requests_per_second",)
    rate_setting = "requests_per_second"
    secret_settings: ClassVar[tuple[str, ...]] = ("api_key",)
    actions = (ADD, REMOVE, EVENT)
    refused = "Iterable refused the API key; check api_key (and base_url for EU projects)"
    denied = "the API key may not do this (a server-side key is needed)"

    def headers(self) -> dict[str, str]:
        return {"Api-Key": str(self.settings.get("api_key") or "")}

    @property
    def id_field(self) -> str:
        return "email" if self.identifier == "email" else "userId"

    def deliver(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        keep, rejected = identified(batch, self.identifier)
        if not keep:
            return Outcome(rejected)
        if action == EVENT:
            with ThreadPoolExecutor(max_workers=self.event_concurrency) as pool:
                reasons = list(pool.map(lambda i: self._track(subscription, batch[i]), keep))
            rejected.update({i: reason for i, reason in zip(keep, reasons) if reason})
            return Outcome(rejected)
        list_id = self._list_id(subscription)
        if action == ADD:
            people = [{**self._who(batch[i]), "dataFields": jsonable(batch[i].fields)} for i in keep]
            response = self.http.request("POST", "/api/lists/subscribe", json={
                "listId": list_id, "subscribers": people, "updateExistingUsersOnly": False})
        else:
            response = self.http.request("POST", "/api/lists/unsubscribe", json={
                "listId": list_id, "subscribers": [self._who(batch[i]) for i in keep]})
        check_list(self, response, list_id)
        if response.status_code != 200:
            raise Rejected(f"Iterable refused the batch: {describe(response)}")
        rejected.update(self._failures(body(response), batch, keep, removing=action == REMOVE))
        return Outcome(rejected)

    # --- responses ----------------------------------------------------------------------------
    def _failures(self, data: Any, batch: Sequence[Change], keep: list[int], removing: bool) -> dict[int, str]:
        """failedUpdates (and the older top-level invalidEmails / invalidUserIds) by batch index."""
        if not isinstance(data, dict):
            raise Rejected("Iterable answered 200 without a JSON body")
        reported: dict[str, list] = {}
        for source in (data, data.get("failedUpdates") or {}):
            for key in FAILURES:
                if isinstance(source.get(key), list) and source[key]:
                    reported.setdefault(key, []).extend(source[key])
        reasons: dict[str, str] = {}
        for key, values in reported.items():
            for value in values:
                reasons.setdefault(self._norm(value), f"{FAILURES[key]} (Iterable {key})")
        rejected: dict[int, str] = {}
        named = 0
        for i in keep:
            ident = self._norm(batch[i].identifier)
            if ident in reasons:
                named += 1
                if not (removing and reasons[ident].startswith("no Iterable user")):
                    rejected[i] = reasons[ident]  # a removal of someone unknown is already done
        unnamed = int(data.get("failCount") or 0) - named
        if unnamed > 0:
            # failures Iterable counted but did not name: refuse the batch so the engine splits it
            # down to the records that fail, rather than acknowledge records that did not land
            raise Rejected(f"Iterable reported {unnamed} failure(s) without naming them")
        return rejected

    def _track(self, subscription: Subscription, change: Change) -> Optional[str]:
        """One event; None when tracked, else the reason this record is rejected."""
        response = self.client("events", self.event_rate).request("POST", "/api/events/track", json={
            **self._who(change),
            "eventName": event_name(change.change),
            "id": event_id(self.name, subscription.segment, change),
            "createdAt": unix_time(change.changed_at),
            "dataFields": {"segment": subscription.segment, "change": change.change, "split": change.split,
                           **jsonable(change.fields)},
        })
        check(self, response)
        if response.status_code == 200:
            return None
        return f"Iterable refused the event: {describe(response)}"

    def unknown_list(self, response: httpx.Response) -> bool:
        """A 404, or the 400 Iterable answers for a list id it does not know (Iterable API docs: list
        calls answer 200, 400 or 401; DESTINATIONS.md Corrections)."""
        if response.status_code == 404:
            return True
        data = body(response)
        if response.status_code != 400 or not isinstance(data, dict):
            return False
        return bool(LIST_NOT_FOUND.search(f"{data.get('code') or ''} {data.get('msg') or ''}"))

    # --- helpers ------------------------------------------------------------------------------
    def _who(self, change: Change) -> dict[str, Any]:
        if self.id_field == "email":
            return {"email": str(change.identifier).strip()}
        return {"userId": str(change.identifier), "preferUserId": True}

    def _norm(self, value: Any) -> str:
        text = str(value).strip()
        return text.lower() if self.id_field == "email" else text

    def _list_id(self, subscription: Subscription) -> int:
        text = (subscription.list or "").strip()
        if not text.isdigit():
            raise stop(self, f"`list:` must be an Iterable list id (a number), got {text!r}")
        return int(text)


def event_id(destination: str, segment: str, change: Change) -> str:
    """Stable per (destination, segment, person, kind of change, run): a resend updates the same event."""
    raw = f"{destination}\x1f{segment}\x1f{change.identifier}\x1f{change.change}\x1f{change.run_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def describe(response: httpx.Response) -> str:
    data = body(response)
    code = f" ({data['code']})" if isinstance(data, dict) and data.get("code") else ""
    return f"{vendor_message(response)}{code} [HTTP {response.status_code}]"
