"""A fake Braze REST endpoint (braze-inc/braze-docs: post_user_track.md, api_limits.md,
user_attributes_object.md): POST /users/track with Bearer auth, at most 75 objects per request (50 for
an account on the MAU CY 24-25 plans: `FakeBraze(max_objects=50)`), X-RateLimit-* headers on every
answer (reset in epoch seconds) and 429 when the window is used up, 200-with-errors[] for the objects it
skips (a missing or malformed identifier). It keeps users with their custom attributes (arrays as sets:
adding a value twice keeps one; at most `array_limit` elements, 25 by default, the excess dropped
without a word) and the events it received. An object for someone unknown creates a profile unless it
says `_update_existing_only: true` (the default is false)."""
from __future__ import annotations

import math
import re
import time
from typing import Any

from .server import FakeServer, Request, Response, route

TYPE = "braze"
LIST = "vip"  # the value written into the membership array attribute
API_KEY = "braze-test-key-0123"
MEMBERSHIP = "segwarehouse_segments"
MAX_OBJECTS = 75
IDENTIFIERS = ("external_id", "braze_id", "email", "phone", "user_alias")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FakeBraze(FakeServer):
    rate = (3000, 3.0)

    def __init__(self, max_objects: int = MAX_OBJECTS, array_limit: int = 25, **kwargs):
        super().__init__(**kwargs)
        self.max_objects = max_objects  # 75, or 50 on the MAU-based plans (api_limits.md)
        self.array_limit = array_limit  # default 25, raisable to 100 (user_attributes_object.md)
        self.users: dict[tuple[str, str], dict[str, Any]] = {}  # (id field, value) -> attributes
        self.events: list[dict[str, Any]] = []

    def authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {API_KEY}"

    def unauthorized(self) -> Response:
        return Response(401, {"message": "Invalid API key"})

    def rate_headers(self, remaining: int, reset_in: float) -> dict[str, str]:
        limit = self.rate[0] if self.rate else 1_000_000
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(math.ceil(time.time() + reset_in))}

    def rate_limited(self, reset_in: float) -> Response:
        return Response(429, {"message": "Too Many Requests"}, self.rate_headers(0, reset_in))

    @route("POST", r"/users/track")
    def track(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return Response(400, {"message": "Invalid JSON body", "errors": []})
        arrays = {name: body.get(name) or [] for name in ("attributes", "events", "purchases")}
        count = sum(len(items) for items in arrays.values())
        if count == 0:
            return Response(400, {"message": "Valid data must be provided in the 'attributes', 'events', "
                                             "or 'purchases' fields.", "errors": []})
        if count > self.max_objects:  # wording assumed: Braze does not publish this 400's text
            return Response(400, {"message": f"Too many objects: {count} attributes, events and purchases "
                                             f"were sent, at most {self.max_objects} are allowed per request",
                                  "errors": []})
        errors = []
        for index, item in enumerate(arrays["attributes"]):
            problem = self._identify(item)
            if problem:
                errors.append({"type": problem, "input_array": "attributes", "index": index})
            elif item.get("_update_existing_only") is True and self._key(item) not in self.users:
                continue  # update only: someone Braze never saw is not created (and not an error)
            else:
                self._update(item)
        for index, item in enumerate(arrays["events"]):
            problem = self._identify(item) or (None if item.get("name") and item.get("time")
                                               else "'name' and 'time' are required")
            if problem:
                errors.append({"type": problem, "input_array": "events", "index": index})
            elif item.get("_update_existing_only") is True and self._key(item) not in self.users:
                continue
            else:
                self.events.append(item)
                self.users.setdefault(self._key(item), {})
        body = {"message": "success", "attributes_processed": len(arrays["attributes"]),
                "events_processed": len(arrays["events"])}
        if errors:
            body["errors"] = errors
        return Response(201, body)

    # --- state ---------------------------------------------------------------------------------
    @staticmethod
    def _key(item: dict[str, Any]) -> tuple[str, str]:
        field = next(f for f in IDENTIFIERS if item.get(f) not in (None, ""))
        return field, str(item[field])

    def _identify(self, item: Any) -> str:
        """Why Braze would skip this object ('' when it would not)."""
        if not isinstance(item, dict) or not any(item.get(f) not in (None, "") for f in IDENTIFIERS):
            return "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
        field, value = self._key(item)
        if field == "email" and not EMAIL.match(value):
            return f"Invalid 'email': {value!r} is not a valid email address"
        if field == "external_id" and not isinstance(item[field], str):
            return "'external_id' must be a string"
        return ""

    def _update(self, item: dict[str, Any]) -> None:
        user = self.users.setdefault(self._key(item), {})
        for name, value in item.items():
            if name in IDENTIFIERS or name == "_update_existing_only":
                continue
            if isinstance(value, dict) and set(value) <= {"add", "remove"}:
                values = list(user.get(name) or [])
                values += [v for v in value.get("add", []) if v not in values]
                values = [v for v in values if v not in value.get("remove", [])]
                # beyond the limit Braze truncates silently; which end goes is not published: the
                # oldest here (README: what a sandbox must confirm)
                user[name] = values[-self.array_limit:]
            else:
                user[name] = value


def make_fake(faults=None) -> FakeBraze:
    return FakeBraze(faults=faults)


def settings(base_url: str) -> dict[str, Any]:
    return {"type": TYPE, "api_key": API_KEY, "base_url": base_url}


def members(fake: FakeBraze, list_id: str) -> set[str]:
    with fake.lock:
        return {value for (_, value), user in fake.users.items() if list_id in (user.get(MEMBERSHIP) or [])}
