"""Braze: no list API, so membership is the array attribute `segwarehouse_segments` on
POST /users/track (the subscription's `list` is the value added or removed); `fields` ride along as
custom attributes; on_enter/on_exit `event` sends custom events "Entered segment" / "Exited segment".

Limits (braze-docs, api_limits.md and post_user_track.md): at most 75 objects (attributes + events +
purchases) per request, 50 on the MAU-based plans of 2024-25: `batch_size: 50` there; an account that
refuses a larger request with a 400 is sent 50 at a time for the rest of the sync. 3,000 requests per 3 s.
A 200/201 may still carry `errors: [{type, input_array, index}]` for the objects Braze skipped.

Removals and exit events carry `_update_existing_only: true`: it defaults to false, and an update for
someone Braze never saw would create a profile (a data point, an MAU, a junk user). Array attributes
hold at most 25 elements unless the workspace raised it (to 100) and Braze truncates the rest silently:
`validate` warns when the lists synced to one destination exceed `array_limit` (default 25)."""
from __future__ import annotations

import threading
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
SMALL_PLAN_OBJECTS = 50   # per request on the MAU CY 24-25 plans (api_limits.md)
DEFAULT_ARRAY_LIMIT = 25  # elements of an array attribute, raisable to 100 (user_attributes_object.md)


class Braze(Destination):
    type = "braze"
    batch_size = 75
    rate = RateLimit(3000, 3.0)
    default_identifier = "key"
    required_settings = ("api_key",)
    secret_settings = ("api_key",)
    # instance: e.g. iad-01 -> https://rest.iad-01.braze.com (or give base_url); array_limit: the
    # workspace's maximum elements of an array attribute (25 unless raised, at most 100)
    optional_settings = ("instance", "array_limit")

    def __init__(self, name: str, settings: dict[str, Any]):
        super().__init__(name, settings)
        self._limit_lock = threading.Lock()

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        limit = settings.get("array_limit", DEFAULT_ARRAY_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            return [("array_limit", "`array_limit` is a whole number from 1 to 100 (the workspace's maximum "
                                    f"elements of an array attribute, 25 unless raised), not {limit!r}")]
        return []

    @classmethod
    def subscription_warnings(cls, name: str, settings: dict[str, Any], lists: Sequence[str]) -> list[str]:
        limit = settings.get("array_limit", DEFAULT_ARRAY_LIMIT)
        if cls.check_settings(settings) or len(lists) <= limit:
            return []
        return [f"destination '{name}': {len(lists)} segments keep their membership in the Braze array "
                f"attribute `{MEMBERSHIP}`, above its limit of {limit} elements (array_limit); a person in "
                f"more of them than that loses memberships, which Braze truncates silently. Raise the "
                f"workspace's array limit (up to 100) and set `array_limit`, or sync fewer segments here"]

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
        start = 0
        while start < len(indexes):
            size = self.batch_size  # may drop to 50 while the batch is sent
            part = indexes[start:start + size]
            try:
                self._track(subscription, action, batch, part, outcome)
            except Rejected:
                if len(part) > SMALL_PLAN_OBJECTS and self._lower_limit():
                    continue  # resend this part 50 at a time
                raise
            start += len(part)
        return outcome

    def _lower_limit(self) -> bool:
        """A request above 50 objects refused as a whole: the account may be on a 50-object plan (the
        wording of that 400 is not published), so send 50 at a time from now on. False when already so."""
        with self._limit_lock:
            if self.batch_size <= SMALL_PLAN_OBJECTS:
                return False
            self.batch_size = SMALL_PLAN_OBJECTS
            return True

    def _track(self, subscription: Subscription, action: str, batch: Sequence[Change], indexes: list[int],
               outcome: Outcome) -> None:
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

    def _object(self, subscription: Subscription, action: str, change: Change) -> dict[str, Any]:
        who = {self.id_field: str(change.identifier)}  # Braze ids are strings, warehouse keys may not be
        if action == EVENT:
            properties = {"segment": subscription.segment, **jsonable(change.fields)}
            if subscription.list:
                properties["list"] = subscription.list
            event = {**who, "name": event_name(change.change), "time": iso_time(change.changed_at),
                     "properties": properties}
            if change.change == "exited":
                event["_update_existing_only"] = True  # an exit of someone Braze never saw creates nobody
            return event
        if action == REMOVE:
            # without it, a removal for someone Braze never saw creates a profile (defaults to false)
            return {**who, "_update_existing_only": True, MEMBERSHIP: {"remove": [self._value(subscription)]}}
        # ADD: fields never overwrite the identifier or the membership array
        fields = {k: v for k, v in jsonable(change.fields).items() if k not in (self.id_field, MEMBERSHIP)}
        return {**fields, **who, MEMBERSHIP: {"add": [self._value(subscription)]}}

    @staticmethod
    def _value(subscription: Subscription) -> str:
        return subscription.list or subscription.segment
