"""Fake Customer.io Track API (DESTINATIONS.md and its Corrections; the Track API OpenAPI, VENDOR-AUDIT
S4): Basic auth site_id:api_key; v1 manual segments add_customers / remove_customers (<= 1000 ids,
else 400 {"meta":{"errors":[..]}}; ids matching nobody are ignored, silently); v2 /api/v2/batch
identify and event (< 500 KB, else 400 {"errors":[{reason,field,message}]}; <= 32 KB an entry; 207 with
{"errors":[{"batch_index",...}]} for refused entries: here an `email` attribute without '@'); events
de-duplicated by id, and only those stamped within the past 72 hours start campaigns; 1000 requests/s,
then 429 without Retry-After."""
from __future__ import annotations

import base64
import json
import time
from typing import Any, Optional

from .server import FakeServer, Faults, Request, Response, route

TYPE = "customerio"
LIST = "42"
SITE_ID, API_KEY = "site-test-1", "cio-key-test-secret-1"
CAMPAIGN_WINDOW = 72 * 3600  # "only events with a timestamp in the past 72 hours trigger campaigns" [D]


def refusal(*errors: str) -> Response:
    """A v1 400: {"meta":{"errors":["..."]}} (Track API OpenAPI, Corrections in DESTINATIONS.md)."""
    return Response(400, {"meta": {"errors": list(errors)}})


class FakeCustomerIO(FakeServer):
    rate = (1000, 1.0)  # "1000 requests per second ... not strictly enforced" (Track API, Rate Limits)

    def __init__(self, faults: Optional[Faults] = None):
        super().__init__(faults)
        self.people: dict[int, dict[str, Any]] = {}   # cio_id -> {"id", "email", attributes...}
        self.segments: dict[str, set[int]] = {LIST: set()}  # manual segment id -> cio_ids
        self.events: dict[str, dict[str, Any]] = {}   # event id -> entry (de-duplicated)
        self.campaigns_started: list[str] = []        # ids of the events that could start a campaign
        self.index: dict[str, dict[str, int]] = {"id": {}, "email": {}}  # id_type -> value -> cio_id
        self.next_id = 1
        self.received = 0  # ids received by add/remove_customers (the benchmark counts them)

    def authorized(self, request: Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{SITE_ID}:{API_KEY}".encode()).decode()
        return request.headers.get("authorization") == expected

    def unauthorized(self) -> Response:
        return Response(401, {"meta": {"errors": ["Unauthorized request"]}})

    def rate_limited(self, reset_in: float) -> Response:
        return Response(429, {"meta": {"errors": ["Too many requests"]}})  # no Retry-After documented

    # --- people ----------------------------------------------------------------------------------
    def find(self, id_type: str, value: Any) -> Optional[int]:
        if id_type == "cio_id":
            return int(value) if int(value) in self.people else None
        return self.index[id_type].get(str(value))

    @route("POST", r"/api/v1/segments/(?P<segment_id>[^/]+)/(?P<verb>add_customers|remove_customers)")
    def membership(self, request: Request, segment_id: str, verb: str) -> Response:
        id_type = request.query.get("id_type", ["id"])[0]
        if id_type not in ("id", "email", "cio_id"):
            return refusal(f"invalid id_type {id_type}")
        ids = request.json()["ids"]
        if not isinstance(ids, list):
            return refusal("ids must be a list")
        if len(ids) > 1000:  # maxItems 1000 (OpenAPI)
            return refusal("too many ids: at most 1000 per request")
        if segment_id not in self.segments:
            # the segment calls document 200/400/401 only (no 404): an unknown segment id is assumed to
            # be a 400; the exact wording is not published (README: what a sandbox must confirm)
            return refusal(f"segment {segment_id} not found")
        self.received += len(ids)
        members = self.segments[segment_id]
        for value in ids:
            cio_id = self.find(id_type, value)
            if cio_id is None:
                continue  # ids that match nobody are ignored
            (members.add if verb == "add_customers" else members.discard)(cio_id)
        return Response(200, {})

    @route("POST", r"/api/v2/batch")
    def batch(self, request: Request) -> Response:
        if len(request.body) >= 500_000:  # v2 400 body: {"errors":[{reason, field, message}]} (OpenAPI)
            return Response(400, {"errors": [{"reason": "too_large", "field": "batch",
                                              "message": "batch too large: must be under 500 KB"}]})
        entries = request.json()["batch"]
        errors = []
        for n, entry in enumerate(entries):
            problem = self._entry(entry)
            if problem:
                errors.append({"batch_index": n, "reason": "invalid", "field": problem[0], "message": problem[1]})
        return Response(207, {"errors": errors}) if errors else Response(200, {})

    def _entry(self, entry: dict) -> Optional[tuple[str, str]]:
        if len(json.dumps(entry)) > 32_000:
            return "entry", "entry larger than 32 KB"
        identifiers = entry.get("identifiers") or {}
        if len(identifiers) != 1:
            return "identifiers", "exactly one identifier is required"
        (id_type, value), = identifiers.items()
        attributes = entry.get("attributes") or {}
        if entry.get("action") == "identify":
            email = attributes.get("email", identifiers.get("email"))
            if email is not None and "@" not in str(email):
                return "email", f"invalid email address: {email}"
            cio_id = self.find(id_type, value)
            if cio_id is None:
                cio_id, self.next_id = self.next_id, self.next_id + 1
                self.people[cio_id] = {id_type: value}
            person = self.people[cio_id]
            for key in self.index:  # an identify may change a person's email: keep the lookup in step
                if person.get(key) is not None:
                    self.index[key].pop(str(person[key]), None)
            person.update(attributes)
            for key in self.index:
                if person.get(key) is not None:
                    self.index[key][str(person[key])] = cio_id
            return None
        if entry.get("action") == "event":
            if not entry.get("name") or not entry.get("id"):
                return "name", "events need a name and an id"
            if entry["id"] in self.events:
                return None  # the ULID de-duplicates: a resent event is kept once and starts nothing
            self.events[entry["id"]] = entry
            stamped = entry.get("timestamp", time.time())
            if time.time() - CAMPAIGN_WINDOW <= float(stamped) <= time.time() + 60:
                self.campaigns_started.append(entry["id"])
            return None
        return "action", f"unsupported action {entry.get('action')!r}"


def make_fake(faults: Optional[Faults] = None) -> FakeCustomerIO:
    return FakeCustomerIO(faults)


def settings(base_url: str) -> dict:
    return {"type": TYPE, "base_url": base_url, "site_id": SITE_ID, "api_key": API_KEY}


def members(fake: FakeCustomerIO, list_id: str) -> set[str]:
    """The `id` (the people key) of every person in the manual segment."""
    return {str(fake.people[c].get("id")) for c in fake.segments.get(list_id, set())}
