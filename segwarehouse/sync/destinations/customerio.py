"""Customer.io Track API (DESTINATIONS.md): a manual segment per `list:`, kept in step with
v1 add_customers / remove_customers (at most 1000 ids a request, ids matching nobody are ignored), and
people's attributes upserted with v2 batch `identify` before they are added, so that new people exist
and fields ride along. `on_enter: event` / `on_exit: event` send v2 batch events whose ids are
deterministic ULIDs: a resent batch is de-duplicated by Customer.io. A v2 207 lists the entries it
refused by batch_index: those become per-record rejections, the rest went through."""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ..http import RateLimit
from ..records import EVENT, REMOVE, Change, Outcome, Rejected, Subscription
from .base import Destination
from .replies import body, check, event_name, stop, unix_time

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
    # ~100 requests/s: 96/s in bursts of 2, so a one-second window on their side stays under 100
    # even when a few requests reach it bunched together (an occasional 429 is retried)
    rate = RateLimit(2, 2 / 96)
    default_identifier = "key"
    identifiers = tuple(ID_TYPES)
    default_base_url = "https://track.customer.io"
    required_settings = ("site_id", "api_key")
    secret_settings = ("api_key",)  # site_id is public: it is in Customer.io's own JavaScript snippet
    ordered = False  # membership calls and ULID events are idempotent whatever the batches hold
    concurrency = 8  # requests in flight: the rate limit, not the round trip, sets the pace

    @classmethod
    def list_required(cls, on_enter: str, on_exit: str) -> bool:
        return on_enter == "add" or on_exit == "remove"

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
        if any(c.fields for c in batch):
            rejected = self._v2([self._identify(c) for c in batch])
        if subscription.list is not None:
            accepted = [c for i, c in enumerate(batch) if i not in rejected]
            if accepted:
                self._membership(subscription, "add_customers", accepted)
        return Outcome(rejected)

    def _identifiers(self, change: Change) -> dict[str, Any]:
        return {ID_TYPES[self.identifier]: change.identifier}

    def _identify(self, change: Change) -> dict[str, Any]:
        return {"type": "person", "identifiers": self._identifiers(change), "action": "identify",
                "attributes": dict(change.fields)}

    def _event(self, subscription: Subscription, change: Change) -> dict[str, Any]:
        seconds = unix_time(change.changed_at)
        seed = f"{self.name}|{subscription.segment}|{change.person_id}|{change.run_id}|{change.change}"
        return {"type": "person", "identifiers": self._identifiers(change), "action": "event",
                "name": event_name(change.change),
                "id": ulid(seconds * 1000, seed), "timestamp": seconds,
                "attributes": {"segment": subscription.segment, "split": change.split, **change.fields}}

    # --- endpoints ------------------------------------------------------------------------------
    def _membership(self, subscription: Subscription, verb: str, batch: Sequence[Change]) -> None:
        response = self.http.request(
            "POST", f"/api/v1/segments/{subscription.list}/{verb}",
            params={"id_type": ID_TYPES[self.identifier]}, json={"ids": [c.identifier for c in batch]})
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
            answer = self._answer(response)
            message = answer.get("meta", {}).get("error") or answer.get("message") or ""
            raise Rejected(f"Customer.io {response.status_code}: {message or 'bad request'}")
        check(self, response, missing)
        raise stop(self, f"Customer.io refused {what}", response)

    @staticmethod
    def _answer(response: httpx.Response) -> dict[str, Any]:
        answer = body(response)
        return answer if isinstance(answer, dict) else {}
