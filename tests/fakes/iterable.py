"""A local Iterable: users by email or userId with their dataFields, static lists, events by id; the
Api-Key header; 200 with successCount / failCount / failedUpdates for list calls; {"msg","code","params"}
errors (400 BadParams above 1000 subscribers, 401 BadApiKey, 429 RateLimitExceeded).

An unknown list id is a 400 (Iterable's API docs list only 200/400/401 for the list calls, and its
error codes include NotFound; DESTINATIONS.md Corrections). Assumptions where Iterable's docs are
silent: the 400's exact code and message, and that unsubscribing an unknown user is reported in
failedUpdates.notFoundEmails / notFoundUserIds. events/track has a window of its own: about 2,000
requests/s per project (Iterable API docs, rate limits), far above the list calls'."""
from __future__ import annotations

import re
from typing import Any, Optional

from .server import FakeServer, Faults, Request, Response, route

TYPE = "iterable"
LIST = "4242"
API_KEY = "test-iterable-key"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_SUBSCRIBERS = 1000
FAILURE_KEYS = ("invalidEmails", "invalidUserIds", "notFoundEmails", "notFoundUserIds", "forgottenEmails",
                "forgottenUserIds", "conflictEmails", "conflictUserIds", "invalidDataEmails", "invalidDataUserIds")


def error(status: int, code: str, msg: str, params: Any = None) -> Response:
    return Response(status, {"msg": msg, "code": code, "params": params})


class FakeIterable(FakeServer):
    rate = (10, 1.0)
    family_rates = {"events": ((2000, 1.0),)}  # events/track: ~2,000 requests/s per project (Iterable docs)

    def family_of(self, request: Request) -> Optional[str]:
        return "events" if request.path.startswith("/api/events/") else None

    def __init__(self, faults: Optional[Faults] = None, lists: tuple[str, ...] = (LIST,)):
        super().__init__(faults)
        self.lists: dict[int, set[str]] = {int(list_id): set() for list_id in lists}
        self.users: dict[str, dict[str, Any]] = {}  # email (lower-cased) or userId -> dataFields
        self.forgotten: set[str] = set()            # identifiers erased on a GDPR request
        self.events: dict[str, dict[str, Any]] = {}  # event id -> the event
        self.name_failures = True                    # False: failCount without failedUpdates detail

    # --- auth and rate -------------------------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        return request.headers.get("api-key") == API_KEY

    def unauthorized(self) -> Response:
        return error(401, "BadApiKey", "Invalid API key", {"endpoint": "/api/..."})

    def rate_limited(self, reset_in: float) -> Response:
        return error(429, "RateLimitExceeded", "Rate limit exceeded")

    # --- lists ---------------------------------------------------------------------------------
    @route("POST", r"/api/lists/subscribe")
    def subscribe(self, request: Request) -> Response:
        return self._list_call(request, subscribing=True)

    @route("POST", r"/api/lists/unsubscribe")
    def unsubscribe(self, request: Request) -> Response:
        return self._list_call(request, subscribing=False)

    def _list_call(self, request: Request, subscribing: bool) -> Response:
        data = request.json()
        if not isinstance(data, dict) or not isinstance(data.get("listId"), int):
            return error(400, "BadParams", "listId must be an integer")
        if data["listId"] not in self.lists:  # a 400, not a 404: the list calls document 200/400/401 only
            return error(400, "NotFound", f"List {data['listId']} does not exist")
        subscribers = data.get("subscribers")
        if not isinstance(subscribers, list):
            return error(400, "BadParams", "subscribers must be a list")
        if len(subscribers) > MAX_SUBSCRIBERS:
            return error(400, "BadParams", f"At most {MAX_SUBSCRIBERS} subscribers per request")
        members = self.lists[data["listId"]]
        failed: dict[str, list] = {key: [] for key in FAILURE_KEYS}
        success = 0
        for person in subscribers:
            by_email = "email" in person
            raw = person.get("email") if by_email else person.get("userId")
            kind = "Emails" if by_email else "UserIds"
            ident = str(raw).lower() if by_email else str(raw)
            if raw is None or (by_email and not EMAIL.match(str(raw))):
                failed["invalid" + kind].append(raw)
            elif ident in self.forgotten:
                failed["forgotten" + kind].append(raw)
            elif subscribing:
                if ident not in self.users and not by_email and not person.get("preferUserId"):
                    failed["notFound" + kind].append(raw)  # only created by userId with preferUserId
                    continue
                self.users.setdefault(ident, {}).update(person.get("dataFields") or {})
                members.add(ident)
                success += 1
            elif ident not in self.users:
                failed["notFound" + kind].append(raw)
            else:
                members.discard(ident)  # not in the list: nothing to do, still a success
                success += 1
        fail_count = sum(len(v) for v in failed.values())
        result: dict[str, Any] = {"successCount": success, "failCount": fail_count}
        if self.name_failures:
            result.update({"invalidEmails": failed["invalidEmails"], "invalidUserIds": failed["invalidUserIds"],
                           "failedUpdates": failed})
        return Response(200, result)

    # --- events --------------------------------------------------------------------------------
    @route("POST", r"/api/events/track")
    def track(self, request: Request) -> Response:
        data = request.json()
        if not data.get("eventName"):
            return error(400, "BadParams", "eventName is required")
        if "email" in data:
            if not EMAIL.match(str(data["email"])):
                return error(400, "InvalidEmailAddressError", f"Invalid email: {data['email']}")
            ident = str(data["email"]).lower()
        elif data.get("userId"):
            ident = str(data["userId"])
        else:
            return error(400, "BadParams", "email or userId is required")
        if ident in self.forgotten:
            return error(400, "BadParams", "User was forgotten")
        self.users.setdefault(ident, {})
        event_id = str(data.get("id") or f"generated-{len(self.events)}")
        self.events[event_id] = {**data, "user": ident}  # an existing id is updated, not duplicated
        return Response(200, {"msg": f"Event with id: {event_id} tracked.", "code": "Success",
                              "params": {"id": event_id}})


def make_fake(faults: Optional[Faults] = None) -> FakeIterable:
    return FakeIterable(faults).without_window()


def settings(base_url: str) -> dict[str, Any]:
    return {"type": TYPE, "base_url": base_url, "api_key": API_KEY, "timeout": 2, "requests_per_second": 1000,
            "max_attempts": 8,
            "backoff": 0.01}


def members(fake: FakeIterable, list_id: str) -> set[str]:
    with fake.lock:
        return set(fake.lists.get(int(list_id), set()))
