"""A generic webhook (DESTINATIONS.md): JSON batches signed the Standard Webhooks way. The
`webhook-id` is a hash of the batch's content, so a batch sent again after a timeout carries the same
id and the receiver can drop the duplicate (it is the idempotency key). A 2xx acknowledges the whole
batch; 408, 429 and 5xx are retried; 400/422 refuse the batch (the engine splits it to find the bad
records); 401/403/404 stop the sync (wrong secret or URL).

The secret is decoded as the Standard Webhooks reference libraries decode it (an optional `whsec_`
prefix, then base64, padding added when missing), so a receiver verifying with them accepts our
signature whatever form the secret was given in. The URL is used exactly as written: its path and
query are sent untouched (no trailing slash added, no re-encoding)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any, Optional, Sequence
from urllib.parse import urlsplit

from ..records import Change, Outcome, Rejected, Subscription
from .base import Destination
from .replies import stop, utc_z

SECRET_PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: without its optional `whsec_` prefix, base64-decoded
    with the padding it may lack, as the reference libraries do (standard-webhooks, libraries/python
    webhooks.py). ValueError when it is not base64."""
    text = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("the webhook `secret` is not base64: Standard Webhooks secrets are `whsec_` "
                         "followed by base64 (e.g. 24 to 64 random bytes)") from None
    if not key:
        raise ValueError("the webhook `secret` is empty")
    return key


def signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` (Standard Webhooks spec)."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    return signature(secret_key(secret), webhook_id, timestamp, body)


def change_json(change: Change) -> dict[str, Any]:
    return {"person_id": change.person_id, "identifier": change.identifier, "change": change.change,
            "changed_at": utc_z(change.changed_at), "run_id": change.run_id,
            "fields": change.fields, "split": change.split}


def split_url(url: str) -> tuple[str, str]:
    """(scheme://host[:port], the path and query exactly as written), so that the HTTP client, which
    joins a path onto its base URL, sends the path and query untouched."""
    parts = urlsplit(url)
    rest = url[len(f"{parts.scheme}://{parts.netloc}"):].split("#", 1)[0] if parts.netloc else ""
    return f"{parts.scheme}://{parts.netloc}", rest if rest.startswith("/") else "/" + rest


class Webhook(Destination):
    type = "webhook"
    batch_size = 500
    rate = None
    default_identifier = "key"
    required_settings = ("url", "secret")
    secret_settings = ("secret",)
    needs_list = False
    concurrency = 4

    def __init__(self, name: str, settings: dict[str, Any]):
        super().__init__(name, settings)
        # the URL is the whole address; `base_url`, when given, replaces it (a proxy, a test server)
        self.base_url, self.target = split_url(self.base_url) if self.base_url else ("", "/")
        self._key: Optional[bytes] = None

    def vendor_url(self) -> str:
        return str(self.settings.get("url") or "")

    def key(self) -> bytes:
        if self._key is None:
            try:
                self._key = secret_key(str(self.settings["secret"]))
            except ValueError as error:
                raise stop(self, str(error)) from None
        return self._key

    def deliver(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        payload = {"segment": subscription.segment, "list": subscription.list, "action": action,
                   "changes": [change_json(c) for c in batch]}
        body = json.dumps(payload, default=str, separators=(",", ":"), sort_keys=True).encode()
        webhook_id = "msg_" + hashlib.sha256(self.name.encode() + b"\0" + body).hexdigest()[:32]
        timestamp = int(time.time())
        response = self.http.request("POST", self.target, content=body, headers={
            "Content-Type": "application/json", "webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(self.key(), webhook_id, timestamp, body)})
        if response.status_code // 100 == 2:
            return Outcome()
        if response.status_code in (400, 422):
            raise Rejected(f"webhook answered {response.status_code}: {response.text[:200]}")
        raise stop(self, "check `url` and `secret`", response)
