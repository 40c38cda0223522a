"""A local Sender.net (API v2 under /v2): subscribers with fields and groups; group membership calls
answering with per-email buckets; Laravel-style 422 validation errors; a per-minute window announced
by X-RateLimit-* headers on every response and Retry-After on the 429; 401 for a wrong token.

Sender documents no maximum for a group call; this fake refuses more than 100 emails (the batch size
the destination chose) with a 422 like Sender's other array validations, so an oversized batch shows."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Optional
from urllib.parse import unquote

from .server import FakeServer, Faults, Request, Response, route

TYPE = "sender"
LIST = "eZVD4w"
API_TOKEN = "test-sender-token"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_GROUP_CALL = 100


class FakeSender(FakeServer):
    rate = (60, 60.0)  # per-minute window

    def __init__(self, faults: Optional[Faults] = None, groups: tuple[str, ...] = (LIST,)):
        super().__init__(faults)
        self.groups = set(groups)
        self.subscribers: dict[str, dict[str, Any]] = {}  # email -> {"fields", "groups", ...}
        self.exists_status = 422  # what POST /subscribers answers for an existing email (409 or 422)
        self.automations_started: list[str] = []  # emails whose group join started automations

    # --- auth and rate -------------------------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {API_TOKEN}"

    def unauthorized(self) -> Response:
        return Response(401, {"success": False, "message": "Unauthenticated."})

    def rate_headers(self, remaining: int, reset_in: float) -> dict[str, str]:
        if not self.rate:
            return {}
        reset_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=reset_in)
        return {"X-RateLimit-Limit": str(self.rate[0]), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": reset_at.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def rate_limited(self, reset_in: float) -> Response:
        return Response(429, {"success": False, "message": "Too Many Attempts."},
                        {**self.rate_headers(0, reset_in), "Retry-After": str(max(1, round(reset_in)))})

    # --- subscribers ---------------------------------------------------------------------------
    @route("POST", r"/v2/subscribers")
    def create(self, request: Request) -> Response:
        data = request.json()
        address = str(data.get("email") or "")
        if not EMAIL.match(address):
            return _invalid("email", "The email must be a valid email address.")
        if address.lower() in self.subscribers:
            return _invalid("email", "The email has already been taken.", self.exists_status)
        groups = data.get("groups") or []
        if any(g not in self.groups for g in groups):
            return _invalid("groups", "The selected groups is invalid.")
        if groups and data.get("trigger_automation", True) is not False:
            self.automations_started.append(address.lower())
        self.subscribers[address.lower()] = {"fields": dict(data.get("fields") or {}), "groups": set(groups),
                                             **{k: data[k] for k in ("firstname", "lastname", "phone") if k in data}}
        return Response(200, {"success": True, "message": [], "data": {"email": address.lower()}})

    @route("PATCH", r"/v2/subscribers/(?P<address>[^/]+)")
    def update(self, request: Request, address: str) -> Response:
        subscriber = self.subscribers.get(unquote(address).lower())
        if subscriber is None:
            return Response(404, {"success": False, "message": "Subscriber not found"})
        data = request.json()
        subscriber["fields"].update(data.get("fields") or {})
        subscriber.update({k: data[k] for k in ("firstname", "lastname", "phone") if k in data})
        return Response(200, {"success": True, "message": "Success", "data": []})

    # --- group membership ----------------------------------------------------------------------
    @route("POST", r"/v2/subscribers/groups/(?P<group>[^/]+)")
    def join(self, request: Request, group: str) -> Response:
        return self._membership(request, group, joining=True)

    @route("DELETE", r"/v2/subscribers/groups/(?P<group>[^/]+)")
    def leave(self, request: Request, group: str) -> Response:
        return self._membership(request, group, joining=False)

    def _membership(self, request: Request, group: str, joining: bool) -> Response:
        if group not in self.groups:
            return Response(404, {"success": False, "message": "Group not found"})
        emails = request.json().get("subscribers")
        if not isinstance(emails, list) or not emails:
            return _invalid("subscribers", "The subscribers field is required.")
        if len(emails) > MAX_GROUP_CALL:
            return _invalid("subscribers", f"The subscribers may not have more than {MAX_GROUP_CALL} items.")
        done, already, missing, invalid = [], [], [], []
        for address in emails:
            subscriber = self.subscribers.get(str(address).lower())
            if not EMAIL.match(str(address)):
                invalid.append(address)
            elif subscriber is None:
                missing.append(address)
            elif (group in subscriber["groups"]) == joining:
                already.append(address)
            else:
                (subscriber["groups"].add if joining else subscriber["groups"].discard)(group)
                done.append(address)
                if joining and request.json().get("trigger_automation", True) is not False:
                    self.automations_started.append(str(address).lower())
        if joining:
            buckets = {"subscribers_add_tag_group": done, "subscribers_with_group_already": already}
        else:
            buckets = {"subscribers_remove_tag_group": done, "subscribers_without_group_already": already}
        return Response(200, {"success": True,
                              "message": {**buckets, "non_existing_subscribers": missing, "invalid_emails": invalid}})


def _invalid(field: str, message: str, status: int = 422) -> Response:
    return Response(status, {"success": False, "message": message, "errors": {field: [message]}})


def make_fake(faults: Optional[Faults] = None) -> FakeSender:
    return FakeSender(faults).without_window()


def settings(base_url: str) -> dict[str, Any]:
    return {"type": TYPE, "base_url": f"{base_url}/v2", "api_token": API_TOKEN, "timeout": 2,
            "requests_per_minute": 60_000, "max_attempts": 8, "backoff": 0.01}


def members(fake: FakeSender, list_id: str) -> set[str]:
    with fake.lock:
        return {address for address, s in fake.subscribers.items() if list_id in s["groups"]}
