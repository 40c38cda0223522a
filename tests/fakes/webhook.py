"""Fake webhook receiver: verifies the Standard Webhooks signature (HMAC-SHA256 over
"{webhook-id}.{webhook-timestamp}.{body}", timestamp within 5 minutes), answers 401 when it does not
match, and treats webhook-id as an idempotency key: a batch seen before is acknowledged, not applied.
It decodes its secret as the reference libraries do (standard-webhooks `libraries/python`: an optional
`whsec_` prefix, then base64 with padding added), and records each request target as received."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any, Optional

from .server import FakeServer, Faults, Request, Response, route

TYPE = "webhook"
LIST = "hooks"
SECRET = "whsec_" + base64.b64encode(b"webhook-test-secret-bytes-1").decode()


def reference_key(secret: str) -> bytes:
    """The key the Standard Webhooks reference `Webhook(secret)` verifies with."""
    text = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    return base64.b64decode(text + "=" * (-len(text) % 4))


class FakeWebhook(FakeServer):
    def __init__(self, faults: Optional[Faults] = None, secret: str = SECRET, path: str = "/hooks"):
        super().__init__(faults)
        self.secret, self.path = secret, path
        self.targets: list[str] = []  # request targets as received (path and query)
        self.seen: set[str] = set()
        self.members: dict[str, set[str]] = {}   # list (or segment) -> person ids
        self.deliveries: list[dict[str, Any]] = []

    def authorized(self, request: Request) -> bool:
        webhook_id = request.headers.get("webhook-id", "")
        timestamp = request.headers.get("webhook-timestamp", "")
        if not webhook_id or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return False
        key = reference_key(self.secret)
        expected = base64.b64encode(hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + request.body,
                                             hashlib.sha256).digest()).decode()
        offered = [part.split(",", 1)[1] for part in request.headers.get("webhook-signature", "").split()
                   if part.startswith("v1,")]
        return any(hmac.compare_digest(expected, s) for s in offered)

    def unauthorized(self) -> Response:
        return Response(401, {"error": "invalid signature"})

    def dispatch(self, request: Request) -> Optional[Response]:
        with self.lock:
            self.targets.append(request.target)
        return super().dispatch(request)

    @route("POST", r"/.*")
    def receive(self, request: Request) -> Response:
        if request.path != self.path:  # receivers route exact paths: /hooks/ is not /hooks
            return Response(404, {"error": f"no route {request.path}"})
        webhook_id = request.headers["webhook-id"]
        if webhook_id in self.seen:
            return Response(200, {"duplicate": True})
        payload = request.json()
        members = self.members.setdefault(payload.get("list") or payload["segment"], set())
        for change in payload["changes"]:
            if change["change"] == "exited":
                members.discard(str(change["identifier"]))
            else:
                members.add(str(change["identifier"]))
        self.seen.add(webhook_id)
        self.deliveries.append(payload)
        return Response(200, {"ok": True})


def make_fake(faults: Optional[Faults] = None) -> FakeWebhook:
    return FakeWebhook(faults)


def settings(base_url: str) -> dict:
    return {"type": TYPE, "url": f"{base_url}/hooks", "secret": SECRET}


def members(fake: FakeWebhook, list_id: str) -> set[str]:
    return set(fake.members.get(list_id, set()))
