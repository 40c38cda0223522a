"""Braze: no list API, so membership is the array attribute `segwarehouse_segments` on
POST /users/track (the subscription's `list` is the value added or removed); `fields` ride along as
custom attributes; on_enter/on_exit `event` sends custom events "Entered segment" / "Exited segment".

Limits: at most 75 objects (attributes + events + purchases) per request, 3,000 requests per 3 s.
A 200/201 may still carry `errors: [{type, input_array, index}]` for the objects Braze skipped."""
from __future__ import annotations

import time
from typing import Any, Optional, Sequence

import httpx

from ...errors import ValidationError
from ..http import RateLimit, retry_after_header
from ..records import EVENT, REMOVE, Change, Outcome, Rejected, Subscription
from .base import Destination
from .replies import body, check, clip, event_name, identified, iso_time, jsonable

MEMBERSHIP = "segwarehouse_segments"
MIN_WAIT, MAX_WAIT = 0.5, 60.0  # seconds, around the reset the server announced
# Braze identifies a user by one of these fields; any other people.identifiers name is an external id
ID_FIELDS = {"email": "email", "phone": "phone", "braze_id": "braze_id"}


class Braze(Destination):
    type = "braze"
    batch_size = 75
    rate = RateLimit(3000, 3.0)
    default_identifier = "key"
    required_settings = ("api_key",)
    secret_settings = ("api_key",)
    optional_settings = ("instance",)  # e.g. iad-01 -> https://rest.iad-01.braze.com (or give base_url)

    def vendor_url(self) -> str:
        if not self.settings.get("instance"):
            raise ValidationError(f"destination {self.name!r} (braze): set `instance` (like iad-01) "
                                  f"or `base_url` (your REST endpoint)")
        return f"https://rest.{self.settings['instance']}.braze.com"

    @property
    def id_field(self) -> str:
        return ID_FIELDS.get(self.identifier, "external_id")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.get('api_key', '')}"}

    def retry_after(self, response: httpx.Response) -> Optional[float]:
        """On 429, wait until X-RateLimit-Reset (epoch seconds). Other retryable answers carry the
        header too, but waiting for the window would not fix a 5xx: back off instead. The wait is
        kept within [0.5 s, 60 s] so a skewed local clock neither spins nor stalls the sync."""
        if response.status_code != 429:
            return None
        reset = response.headers.get("X-RateLimit-Reset")
        try:
            wait = float(reset) - time.time() if reset is not None else retry_after_header(response)
        except ValueError:
            wait = retry_after_header(response)
        return None if wait is None else min(MAX_WAIT, max(MIN_WAIT, wait))

    # --- sending -------------------------------------------------------------------------------
    def deliver(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        indexes, rejected = identified(batch, self.identifier)  # the batch index each object stands for
        outcome = Outcome(rejected)
        if not indexes:
            return outcome
        objects = [self._object(subscription, action, batch[index]) for index in indexes]
        array = "events" if action == EVENT else "attributes"
        response = self.http.request("POST", "/users/track", json={array: objects})
        check(self, response, missing="the endpoint (base_url, your Braze REST endpoint)")
        answer = body(response) or {}
        if not response.is_success:
            raise Rejected(clip(f"HTTP {response.status_code}: {answer.get('message') or response.text}"))
        for error in answer.get("errors") or []:
            position = error.get("index") if isinstance(error, dict) else None
            if isinstance(position, int) and 0 <= position < len(indexes):
                outcome.rejected[indexes[position]] = clip(error.get("type") or error)
        return outcome

    def _object(self, subscription: Subscription, action: str, change: Change) -> dict[str, Any]:
        who = {self.id_field: str(change.identifier)}  # Braze ids are strings, warehouse keys may not be
        if action == EVENT:
            properties = {"segment": subscription.segment, **jsonable(change.fields)}
            if subscription.list:
                properties["list"] = subscription.list
            return {**who, "name": event_name(change.change), "time": iso_time(change.changed_at),
                    "properties": properties}
        if action == REMOVE:
            return {**who, MEMBERSHIP: {"remove": [self._value(subscription)]}}
        # ADD: fields never overwrite the identifier or the membership array
        fields = {k: v for k, v in jsonable(change.fields).items() if k not in (self.id_field, MEMBERSHIP)}
        return {**fields, **who, MEMBERSHIP: {"add": [self._value(subscription)]}}

    @staticmethod
    def _value(subscription: Subscription) -> str:
        return subscription.list or subscription.segment
