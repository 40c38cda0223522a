"""SendPulse address books (`list:` is the address book id), people matched by email.

Auth is OAuth client credentials: POST /oauth/access_token gives a bearer token for an hour; it is
cached and shared by concurrent batches, renewed a minute early, and fetched again once when an API
call answers 401 (the token was revoked or expired early). Adds are upserts, so resending a batch is
harmless and re-adding someone updates their variables (`fields` ride along as variables).

SendPulse reports no per-record outcome: a batch with a bad address is refused as a whole (4xx), which
we raise as Rejected so the engine splits it down to the bad record. There is no event API for address
books (Automation 360 events are a separate product), so `on_enter: event` is not offered.
"""
from __future__ import annotations

import threading
import time
from typing import Any, ClassVar, Optional, Sequence

import httpx

from ..http import RateLimit
from ..records import ADD, REMOVE, Change, Outcome, Rejected, Subscription
from .base import Destination
from .replies import body, check_list, identified, jsonable, stop, vendor_message


class SendPulse(Destination):
    type = "sendpulse"
    batch_size = 100                 # DELETE /addressbooks/{id}/emails takes at most 100 emails
    rate = RateLimit(10, 1.0)        # documented 10 requests/s (plan-dependent now: requests_per_second)
    default_base_url = "https://api.sendpulse.com"
    required_settings = ("client_id", "client_secret")
    optional_settings = ("requests_per_second",)
    rate_setting = "requests_per_second"
    secret_settings: ClassVar[tuple[str, ...]] = ("client_secret",)
    actions = (ADD, REMOVE)
    denied = "not allowed to change this address book"
    renew_before = 60.0              # seconds before expiry at which a cached token is replaced

    def __init__(self, name: str, settings: dict[str, Any]):
        super().__init__(name, settings)
        self._token: Optional[str] = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()

    def deliver(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        keep, rejected = identified(batch, self.identifier)
        if not keep:
            return Outcome(rejected)
        book = self._book(subscription)
        path = f"/addressbooks/{book}/emails"
        if action == ADD:
            payload = {"emails": [{"email": str(batch[i].identifier), "variables": jsonable(batch[i].fields)}
                                  for i in keep]}
            response = self._call("POST", path, payload)
        else:  # REMOVE
            response = self._call("DELETE", path, {"emails": [str(batch[i].identifier) for i in keep]})
        self._check(response, book)
        return Outcome(rejected)

    # --- responses ----------------------------------------------------------------------------
    def _check(self, response: httpx.Response, book: str) -> None:
        if response.status_code == 200:
            data = body(response)
            if isinstance(data, dict) and data.get("result") is False:
                raise Rejected(f"SendPulse refused the batch: {vendor_message(response)}")
            return
        # a 401 was answered with a new token; an unknown book is a 404 with error_code 213 (SendPulse
        # bulk-email OpenAPI error examples)
        check_list(self, response, book, "address book")
        data = body(response)
        code = f" (error_code {data['error_code']})" if isinstance(data, dict) and "error_code" in data else ""
        raise Rejected(f"SendPulse refused the batch: {vendor_message(response)}{code}")

    def _book(self, subscription: Subscription) -> str:
        book = (subscription.list or "").strip()
        if not book.isdigit():
            raise stop(self, f"`list:` must be a SendPulse address book id (a number), got {book!r}")
        return book

    # --- auth ---------------------------------------------------------------------------------
    def _call(self, method: str, path: str, payload: dict[str, Any]) -> httpx.Response:
        """One API call with the cached token; on 401 one new token and one more try."""
        token = self._access_token()
        response = self.http.request(method, path, json=payload, headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 401:
            return response
        token = self._access_token(refused=token)
        response = self.http.request(method, path, json=payload, headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 401:
            raise stop(self, "SendPulse refused a freshly issued access token", response)
        return response

    def _access_token(self, refused: Optional[str] = None) -> str:
        """The cached token, or a new one when it is about to expire or was just refused. Under a lock,
        and a token refused by one batch is renewed once even when several batches saw the 401."""
        with self._token_lock:
            stale = self._token is None or time.monotonic() >= self._token_expires - self.renew_before
            if stale or (refused is not None and refused == self._token):
                self._token, lifetime = self._fetch_token()
                self._token_expires = time.monotonic() + lifetime
            assert self._token is not None
            return self._token

    def _fetch_token(self) -> tuple[str, float]:
        response = self.http.request("POST", "/oauth/access_token", json={
            "grant_type": "client_credentials",
            "client_id": str(self.settings.get("client_id") or ""),
            "client_secret": str(self.settings.get("client_secret") or ""),
        })
        data = body(response)
        if response.status_code != 200 or not isinstance(data, dict) or not data.get("access_token"):
            raise stop(self, "could not get an access token; check client_id and client_secret", response)
        return str(data["access_token"]), float(data.get("expires_in") or 3600)
