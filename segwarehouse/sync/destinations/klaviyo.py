"""Klaviyo: lists hold profile ids, so each person is first resolved to a profile id (upsert with
POST /profile-import/, which also carries `fields`; or, for removals, a lookup that creates nobody),
then POST / DELETE /lists/{id}/relationships/profiles/ moves up to 1000 ids at once. Ids are cached
for the life of the destination (one sync). `event` actions create "Entered segment" / "Exited
segment" events whose unique_id makes a resend a no-op.

Every request carries the pinned `revision` header; bodies and errors are JSON:API. Each endpoint
family has its own documented rate (fixed windows per second and per minute), so each gets its own
client; normal answers carry RateLimit-* headers and a 429 carries Retry-After (seconds)."""
from __future__ import annotations

import json
from typing import Any, Optional, Sequence

import httpx

from ..http import Http, RateLimit
from ..records import ADD, EVENT, Change, Outcome, Rejected, Subscription
from .base import Destination
from .replies import body, check, clip, event_name, identified, iso_time, jsonable

REVISION = "2025-10-15"
# people.identifiers names that are Klaviyo profile identifiers; anything else (key, ...) is external_id
ID_ATTRIBUTES = {"email": "email", "phone": "phone_number", "phone_number": "phone_number",
                 "external_id": "external_id"}
# fields with these names are standard profile attributes; all other fields become custom properties
PROFILE_ATTRIBUTES = {"email", "phone_number", "external_id", "first_name", "last_name", "organization",
                      "title", "image", "locale"}
FILTER_VALUES = 100  # most values one `any(...)` profile filter may hold
LOOKUP_PAGE = 100    # most profiles one page may hold


class Klaviyo(Destination):
    type = "klaviyo"
    batch_size = 1000
    rate = RateLimit(10, 4.0)             # list relationships: 10/s burst, 150/min steady
    profile_rate = RateLimit(75, 6.43)    # profile import and lookup: 75/s burst, 700/min steady
    event_rate = RateLimit(350, 6.0)      # events: 350/s burst, 3500/min steady
    default_base_url = "https://a.klaviyo.com/api"
    required_settings = ("api_key",)
    secret_settings = ("api_key",)

    def __init__(self, name: str, settings: dict[str, Any]):
        super().__init__(name, settings)
        self.profile_ids: dict[str, str] = {}  # identifier -> Klaviyo profile id, for this sync

    @property
    def id_attribute(self) -> str:
        return ID_ATTRIBUTES.get(self.identifier, "external_id")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Klaviyo-API-Key {self.settings.get('api_key', '')}",
                "revision": REVISION, "Accept": "application/vnd.api+json",
                "Content-Type": "application/vnd.api+json"}

    @property
    def profiles(self) -> Http:
        return self.client("profiles", self.profile_rate)

    @property
    def events(self) -> Http:
        return self.client("events", self.event_rate)

    # --- sending -------------------------------------------------------------------------------
    def deliver(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        keep, rejected = identified(batch, self.identifier)
        outcome = Outcome(rejected)
        people = {index: batch[index] for index in keep}
        if action == EVENT:
            for index, change in people.items():
                reason = self._event(subscription, change)
                if reason:
                    outcome.rejected[index] = reason
            return outcome
        if action == ADD:
            ids = []
            for index, change in people.items():
                profile_id, reason = self._upsert(change)
                if profile_id:
                    ids.append(profile_id)
                else:
                    outcome.rejected[index] = reason
            self._relationships(subscription, "POST", ids)
        else:  # REMOVE: a person Klaviyo does not know is not in the list: nothing to do, nobody is created
            self._relationships(subscription, "DELETE", self._lookup([c.identifier for c in people.values()]))
        return outcome

    def _relationships(self, subscription: Subscription, method: str, ids: list[str]) -> None:
        if not ids:
            return
        data = [{"type": "profile", "id": profile_id} for profile_id in dict.fromkeys(ids)]
        response = self.http.request(method, f"/lists/{subscription.list}/relationships/profiles/",
                                     content=json.dumps({"data": data}))
        check(self, response, missing=f"the list id ({subscription.list!r})")
        if not response.is_success:
            raise Rejected(self._reason(response))

    def _upsert(self, change: Change) -> tuple[Optional[str], str]:
        """(profile id, '') or (None, the vendor's reason). A cached id skips the call unless the
        change carries fields, since the upsert is also how `fields` reach the profile."""
        identifier = str(change.identifier)
        if identifier in self.profile_ids and not change.fields:
            return self.profile_ids[identifier], ""
        attributes, properties = self._profile_attributes(change)
        profile: dict[str, Any] = {"type": "profile", "attributes": {**attributes, "properties": properties}}
        response = self.profiles.request("POST", "/profile-import/", content=json.dumps({"data": profile}))
        check(self, response, missing="the endpoint (base_url)")
        answer = body(response) or {}
        if response.status_code == 409:  # the identifiers belong to an existing profile: use that one
            profile_id = self._duplicate(answer)
            if not profile_id:
                return None, self._reason(response)
            if properties:  # the fields still belong on the person's profile: send them by id
                update = {"type": "profile", "id": profile_id, "attributes": {"properties": properties}}
                response = self.profiles.request("POST", "/profile-import/", content=json.dumps({"data": update}))
                check(self, response, missing="the endpoint (base_url)")
                if not response.is_success:
                    return None, self._reason(response)
        elif response.is_success:
            profile_id = str(answer["data"]["id"])
        else:
            return None, self._reason(response)
        self.profile_ids[identifier] = profile_id
        return profile_id, ""

    def _profile_attributes(self, change: Change) -> tuple[dict[str, Any], dict[str, Any]]:
        attributes: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        for name, value in jsonable(change.fields).items():
            (attributes if name in PROFILE_ATTRIBUTES else properties)[name] = value
        attributes[self.id_attribute] = str(change.identifier)  # wins over a same-named field
        return attributes, properties

    def _lookup(self, identifiers: list[Any]) -> list[str]:
        """Profile ids of the people Klaviyo knows, without creating anyone."""
        found = [self.profile_ids[str(i)] for i in identifiers if str(i) in self.profile_ids]
        unknown = list(dict.fromkeys(str(i) for i in identifiers if str(i) not in self.profile_ids))
        for start in range(0, len(unknown), FILTER_VALUES):
            chunk = unknown[start:start + FILTER_VALUES]
            query = {"filter": f"any({self.id_attribute},{json.dumps(chunk)})", "page[size]": str(LOOKUP_PAGE)}
            while query:
                response = self.profiles.request("GET", "/profiles/", params=query)
                check(self, response, missing="the endpoint (base_url)")
                if not response.is_success:
                    raise Rejected(self._reason(response))
                answer = body(response) or {}
                for profile in answer.get("data") or []:
                    value = (profile.get("attributes") or {}).get(self.id_attribute)
                    if value is not None:
                        self.profile_ids[str(value)] = str(profile["id"])
                        found.append(str(profile["id"]))
                # the next link repeats filter and cursor: send them as parameters of the same path
                following = (answer.get("links") or {}).get("next")
                query = dict(httpx.URL(following).params) if following else {}
        return found

    def _event(self, subscription: Subscription, change: Change) -> str:
        """'' when Klaviyo accepted the event, else its reason."""
        properties = {"segment": subscription.segment, **jsonable(change.fields)}
        # the same change sent again has the same unique_id, and Klaviyo keeps one event
        unique_id = f"segwarehouse:{subscription.segment}:{change.person_id}:{change.run_id}:{change.change}"
        event = {"type": "event", "attributes": {
            "properties": properties, "time": iso_time(change.changed_at), "unique_id": unique_id,
            "metric": {"data": {"type": "metric", "attributes": {"name": event_name(change.change)}}},
            "profile": {"data": {"type": "profile", "attributes": {self.id_attribute: str(change.identifier)}}},
        }}
        response = self.events.request("POST", "/events/", content=json.dumps({"data": event}))
        check(self, response, missing="the endpoint (base_url)")
        return "" if response.is_success else self._reason(response)

    # --- reading answers -----------------------------------------------------------------------
    @staticmethod
    def _duplicate(answer: dict[str, Any]) -> Optional[str]:
        for error in answer.get("errors") or []:
            profile_id = ((error or {}).get("meta") or {}).get("duplicate_profile_id")
            if profile_id:
                return str(profile_id)
        return None

    @staticmethod
    def _reason(response: httpx.Response) -> str:
        """The first JSON:API error's detail (or title), else the status."""
        answer = body(response)
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if errors and isinstance(errors[0], dict):
            first = errors[0]
            return clip(f"HTTP {response.status_code} {first.get('code') or ''}: "
                        f"{first.get('detail') or first.get('title') or ''}")
        return f"HTTP {response.status_code}"
