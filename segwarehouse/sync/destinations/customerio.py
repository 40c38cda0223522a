"""Customer.io Track API (DESTINATIONS.md): a manual segment per `list:`, kept in step with
v1 add_customers / remove_customers (at most 1000 ids a request). add_customers ignores ids that match
nobody and says nothing about them (DESTINATIONS.md, Corrections), so every added person is first
created or updated with a v2 batch `identify` (`create_people: true`, the default); with
`create_people: false` (workspaces where only the app creates people) the ids go straight to the
segment and are counted as unconfirmed, since Customer.io does not say which it ignored.

`on_enter: event` / `on_exit: event` send v2 batch events whose ids are deterministic ULIDs (a resent
batch is de-duplicated by Customer.io) and whose `timestamp` is the send time: only events stamped
within the past 72 hours trigger campaigns (Track API docs), and a sync can run days after the change.
A v2 207 lists the entries it refused by batch_index: those become per-record rejections. A 400 on a
segment call stops the subscription: the ids were already accepted, so the segment id is wrong (those
calls document 200/400/401 only, no 404)."""
from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ..http import RateLimit
from ..records import EVENT, REMOVE, Change, Outcome, Rejected, Subscription
from .base import Destination
from .replies import body, check, clip, event_name, stop, unix_time

if TYPE_CHECKING:
    import httpx

ID_TYPES = {"key": "id", "email": "email", "cio_id": "cio_id"}
V2_MAX_BYTES = 500_000 - 1_000  # < 500 KB per request (headroom for the envelope)
V2_MAX_ENTRY = 32_000            # <= 32 KB per entry
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(millis: int, seed: str) -> str:
    """A ULID whose random part is a hash of `seed`: the same change always gets the same event id."""
    entropy = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10], "big")
    value = (millis & ((1 << 48) - 1)) << 80 | entropy
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


class CustomerIO(Destination):
    type = "customerio"
    batch_size = 1000
    # "1000 requests per second ... not strictly enforced" (Track API docs, Rate Limits); a plan or a
    # shared workspace may want less: `requests_per_second`
    rate = RateLimit(1000, 1.0)
    rate_setting = "requests_per_second"
    default_identifier = "key"
    identifiers = tuple(ID_TYPES)
    default_base_url = "https://track.customer.io"
    required_settings = ("site_id", "api_key")
    # the site id is published (it is in Customer.io's JavaScript snippet): only the key is a secret
    secret_settings = ("api_key",)
    optional_settings = ("create_people", "requests_per_second")
    refused = "Customer.io refused the credentials; check site_id and api_key"
    ordered = False  # membership calls and ULID events are idempotent whatever the batches hold
    concurrency = 8  # requests in flight: the rate limit, not the round trip, sets the pace

    @classmethod
    def list_required(cls, on_enter: str, on_exit: str) -> bool:
        return on_enter == "add" or on_exit == "remove"

    def __init__(self, name: str, settings: dict[str, Any]):
        super().__init__(name, settings)
        self._unconfirmed = 0
        self._count_lock = threading.Lock()

    @property
    def create_people(self) -> bool:
        return self.settings.get("create_people", True) is not False

    @property
    def unconfirmed(self) -> int:
        return self._unconfirmed

    def auth(self) -> Optional[tuple[str, str]]:
        return str(self.settings["site_id"]), str(self.settings["api_key"])

    # --- send -----------------------------------------------------------------------------------
    def deliver(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        if action == REMOVE:
            self._membership(subscription, "remove_customers", batch)
            return Outcome()
        if action == EVENT:
            entries = [self._event(subscription, c) for c in batch]
            return Outcome(self._v2(entries))
        # ADD: create/update the people first (add_customers ignores ids that match nobody)
        rejected: dict[int, str] = {}
        if self.create_people:  # (without it, fields are not sent: an identify would create people)
            rejected = self._v2([self._identify(c) for c in batch])
        if subscription.list is not None:
            accepted = [c for i, c in enumerate(batch) if i not in rejected]
            if accepted:
                self._membership(subscription, "add_customers", accepted)
                if not self.create_people:
                    with self._count_lock:
                        self._unconfirmed += len(accepted)
        return Outcome(rejected)

    def _identifiers(self, change: Change) -> dict[str, Any]:
        return {ID_TYPES[self.identifier]: change.identifier}

    def _identify(self, change: Change) -> dict[str, Any]:
        return {"type": "person", "identifiers": self._identifiers(change), "action": "identify",
                "attributes": dict(change.fields)}

    def _event(self, subscription: Subscription, change: Change) -> dict[str, Any]:
        """The id comes from the change (the same on every resend); the timestamp is the send time,
        since only events stamped within the past 72 hours trigger campaigns; when the person changed
        rides along as `changed_at`."""
        changed = unix_time(change.changed_at)
        seed = f"{self.name}|{subscription.segment}|{change.person_id}|{change.run_id}|{change.change}"
        return {"type": "person", "identifiers": self._identifiers(change), "action": "event",
                "name": event_name(change.change),
                "id": ulid(changed * 1000, seed), "timestamp": int(time.time()),
                "attributes": {"segment": subscription.segment, "split": change.split, "changed_at": changed,
                               **change.fields}}

    # --- endpoints ------------------------------------------------------------------------------
    def _membership(self, subscription: Subscription, verb: str, batch: Sequence[Change]) -> None:
        response = self.http.request(
            "POST", f"/api/v1/segments/{subscription.list}/{verb}",
            params={"id_type": ID_TYPES[self.identifier]}, json={"ids": [c.identifier for c in batch]})
        if response.status_code == 400:
            # the ids are plain strings Customer.io ignores when they match nobody: a 400 here is about
            # the segment (most likely an id that does not exist), not about a record, so halving the
            # batch down to single ids would only write everyone off
            raise stop(self, f"Customer.io refused {verb} for segment {subscription.list!r} "
                             f"({self._reason(response)}); check `list:` is the id of a manual segment "
                             "(Segments > the segment > Usage)")
        if response.status_code // 100 != 2:
            self._fail(response, f"{verb} to segment {subscription.list}", f"segment {subscription.list} (`list:`)")

    def _v2(self, entries: list[dict[str, Any]]) -> dict[int, str]:
        """POST entries in requests under the size limits; {index: reason} of those refused."""
        rejected: dict[int, str] = {}
        chunk: list[tuple[int, bytes]] = []
        size = 0
        for index, entry in enumerate(entries):
            encoded = json.dumps(entry, default=str, separators=(",", ":")).encode()
            if len(encoded) > V2_MAX_ENTRY:
                rejected[index] = f"entry of {len(encoded):,} bytes is above Customer.io's 32 KB limit"
                continue
            if chunk and size + len(encoded) + 1 > V2_MAX_BYTES:
                rejected.update(self._post_v2(chunk))
                chunk, size = [], 0
            chunk.append((index, encoded))
            size += len(encoded) + 1
        if chunk:
            rejected.update(self._post_v2(chunk))
        return rejected

    def _post_v2(self, chunk: list[tuple[int, bytes]]) -> dict[int, str]:
        body = b'{"batch":[' + b",".join(e for _, e in chunk) + b"]}"
        response = self.http.request("POST", "/api/v2/batch", content=body,
                                     headers={"Content-Type": "application/json"})
        if response.status_code == 207:
            refused = {}
            for error in self._answer(response).get("errors") or []:
                position = error.get("batch_index")
                if isinstance(position, int) and 0 <= position < len(chunk):
                    reason = " ".join(str(error[k]) for k in ("reason", "field", "message") if error.get(k))
                    refused[chunk[position][0]] = reason or "refused by Customer.io"
            return refused
        if response.status_code // 100 != 2:
            self._fail(response, "v2 batch", "the v2 batch endpoint (base_url)")
        return {}

    def _fail(self, response: httpx.Response, what: str, missing: str) -> None:
        """400: the request's records were refused (the engine splits the batch to find which);
        401/403/404: our credentials or the segment id are wrong, nothing will go through."""
        if response.status_code in (400, 422):
            raise Rejected(f"Customer.io {response.status_code}: {self._reason(response)}")
        check(self, response, missing)
        raise stop(self, f"Customer.io refused {what}", response)

    @classmethod
    def _reason(cls, response: httpx.Response) -> str:
        """Customer.io's own words for a 400: v1 `{"meta":{"errors":["..."]}}`, v2
        `{"errors":[{"reason","field","message"}]}` (Track API OpenAPI), older `meta.error`."""
        answer = cls._answer(response)
        meta = answer.get("meta") if isinstance(answer.get("meta"), dict) else {}
        words: list[str] = []
        for error in list(meta.get("errors") or []) + list(answer.get("errors") or []):
            if isinstance(error, dict):
                words.append(" ".join(str(error[k]) for k in ("reason", "field", "message") if error.get(k)))
            elif error:
                words.append(str(error))
        if not words and (meta.get("error") or answer.get("message")):
            words.append(str(meta.get("error") or answer.get("message")))
        return clip("; ".join(w for w in words if w)) or "bad request"

    @staticmethod
    def _answer(response: httpx.Response) -> dict[str, Any]:
        answer = body(response)
        return answer if isinstance(answer, dict) else {}
