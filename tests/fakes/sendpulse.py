"""A local SendPulse: OAuth client-credentials tokens that expire (or are expired on demand), address
books keyed by email with their variables, the official SDK's form-encoded `emails` JSON string as
well as JSON bodies, at most 100 emails per DELETE, and a batch with an invalid address refused whole.
Status codes and bodies follow DESTINATIONS.md; the numeric error_code values are this fake's own."""
from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any, Optional
from urllib.parse import parse_qs

from .server import FakeServer, Faults, Request, Response, route

TYPE = "sendpulse"
LIST = "42"
CLIENT_ID, CLIENT_SECRET = "test-client-id", "test-client-secret"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_REMOVE = 100


class FakeSendPulse(FakeServer):
    rate = (10, 1.0)  # documented 10 requests per second

    def __init__(self, faults: Optional[Faults] = None, books: tuple[str, ...] = (LIST,)):
        super().__init__(faults)
        self.books: dict[str, dict[str, dict[str, Any]]] = {book: {} for book in books}
        self.tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.token_lifetime = 3600

    # --- controls for tests --------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """Every issued token stops working now (as when SendPulse revokes or expires one early)."""
        with self.lock:
            self.tokens.clear()

    @property
    def tokens_issued(self) -> int:
        return len(self.requests_to("POST", r"^/oauth/access_token$"))

    # --- auth ----------------------------------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        if request.path == "/oauth/access_token":
            return True
        header = request.headers.get("authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else ""
        return self.tokens.get(token, 0.0) > time.monotonic()

    def unauthorized(self) -> Response:
        return Response(401, {"error_code": 401, "message": "Unauthorized"})

    def rate_limited(self, reset_in: float) -> Response:
        return Response(429, {"error_code": 429, "message": "Too Many Requests"})

    @route("POST", r"/oauth/access_token")
    def token(self, request: Request) -> Response:
        data = _fields(request)
        if (data.get("grant_type") != "client_credentials" or data.get("client_id") != CLIENT_ID
                or data.get("client_secret") != CLIENT_SECRET):
            return Response(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        token = secrets.token_hex(16)
        self.tokens[token] = time.monotonic() + self.token_lifetime
        return Response(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime})

    # --- address books -------------------------------------------------------------------------
    @route("POST", r"/addressbooks/(?P<book>[^/]+)/emails")
    def add(self, request: Request, book: str) -> Response:
        if book not in self.books:
            return Response(404, {"error_code": 213, "message": "Book not found"})
        emails = _emails(request)
        if not emails:
            return Response(400, {"error_code": 203, "message": "Empty emails list"})
        addresses = [item["email"] if isinstance(item, dict) else item for item in emails]
        bad = [a for a in addresses if not isinstance(a, str) or not EMAIL.match(a)]
        if bad:  # refused as a whole: nothing is stored
            return Response(400, {"error_code": 204, "message": f"Invalid email: {bad[0]}"})
        for item in emails:
            email = item["email"] if isinstance(item, dict) else item
            variables = (item.get("variables") or {}) if isinstance(item, dict) else {}
            self.books[book].setdefault(email.lower(), {}).update(variables)  # re-adding updates variables
        return Response(200, {"result": True})

    @route("DELETE", r"/addressbooks/(?P<book>[^/]+)/emails")
    def remove(self, request: Request, book: str) -> Response:
        if book not in self.books:
            return Response(404, {"error_code": 213, "message": "Book not found"})
        emails = _emails(request)
        if not emails:
            return Response(400, {"error_code": 203, "message": "Empty emails list"})
        if len(emails) > MAX_REMOVE:
            return Response(400, {"error_code": 205, "message": f"Too many emails: at most {MAX_REMOVE} per request"})
        for email in emails:
            self.books[book].pop(str(email).lower(), None)  # absent: nothing to do
        return Response(200, {"result": True})


def _fields(request: Request) -> dict[str, Any]:
    """A JSON body, or a form-encoded one (what the official SDK sends)."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    data = request.json()
    return data if isinstance(data, dict) else {}


def _emails(request: Request) -> list:
    emails = _fields(request).get("emails") or []
    if isinstance(emails, str):  # the SDK sends the list as a JSON string
        emails = json.loads(emails)
    if not isinstance(emails, list):
        raise ValueError("emails must be a list")
    return emails


def make_fake(faults: Optional[Faults] = None) -> FakeSendPulse:
    return FakeSendPulse(faults).without_window()


def settings(base_url: str) -> dict[str, Any]:
    return {"type": TYPE, "base_url": base_url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "timeout": 2, "requests_per_second": 200, "max_attempts": 8, "backoff": 0.01}


def members(fake: FakeSendPulse, list_id: str) -> set[str]:
    with fake.lock:
        return set(fake.books.get(list_id, {}))
