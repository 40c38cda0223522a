"""A generic webhook (DESTINATIONS.md): JSON batches signed the Standard Webhooks way. The
`webhook-id` is a hash of the batch's content, so a batch sent again after a timeout carries the same
id and the receiver can drop the duplicate (it is the idempotency key). A 2xx acknowledges the whole
batch; 408, 429 and 5xx are retried; 400/422 refuse the batch (the engine splits it to find the bad
records); 401/403/404 stop the sync (wrong secret or URL)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Sequence

from ..records import Change, Outcome, Rejected, Subscription
from .base import Destination
from .replies import stop


def secret_key(secret: str) -> bytes:
    """Standard Webhooks secrets look like `whsec_<base64>`; any other string is used as bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):])
    return secret.encode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_key(secret), signed, hashlib.sha256).digest()).decode()


def change_json(change: Change) -> dict[str, Any]:
    at = change.changed_at
    return {"person_id": change.person_id, "identifier": change.identifier, "change": change.change,
            "changed_at": at.isoformat() + ("Z" if at.tzinfo is None else ""), "run_id": change.run_id,
            "fields": change.fields, "split": change.split}


class Webhook(Destination):
    type = "webhook"
    batch_size = 500
    rate = None
    default_identifier = "key"
    required_settings = ("url", "secret")
    secret_settings = ("secret",)
    needs_list = False
    concurrency = 4

    def vendor_url(self) -> str:
        # the URL is the whole address; `base_url`, when given, replaces it (a proxy, a test server)
        return str(self.settings.get("url") or "")

    def deliver(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        payload = {"segment": subscription.segment, "list": subscription.list, "action": action,
                   "changes": [change_json(c) for c in batch]}
        body = json.dumps(payload, default=str, separators=(",", ":"), sort_keys=True).encode()
        webhook_id = "msg_" + hashlib.sha256(self.name.encode() + b"\0" + body).hexdigest()[:32]
        timestamp = int(time.time())
        response = self.http.request("POST", "", content=body, headers={
            "Content-Type": "application/json", "webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(str(self.settings["secret"]), webhook_id, timestamp, body)})
        if response.status_code // 100 == 2:
            return Outcome()
        if response.status_code in (400, 422):
            raise Rejected(f"webhook answered {response.status_code}: {response.text[:200]}")
        raise stop(self, "check `url` and `secret`", response)
