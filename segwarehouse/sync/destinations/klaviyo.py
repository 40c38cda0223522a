"""Klaviyo: lists hold profile ids, so each person is first resolved to a profile id (upsert with
POST /profile-import/, which also carries `fields`; or, for removals, a lookup that creates nobody),
then POST / DELETE /lists/{id}/relationships/profiles/ moves up to 1000 ids at once. Ids are cached
for the life of the destination (one sync). `event` actions create "Entered segment" / "Exited
segment" events whose unique_id makes a resend a no-op.

Large adds go through bulk profile import jobs instead (POST /profile-bulk-import-jobs/: up to 10,000
profiles and 5 MB per job, 100 KB per profile; the job upserts them and adds them to the list): the
per-profile upsert is limited to 75/s and 700/min, so a first sync of a million people would take a
day. The job is polled until `complete`, and the profiles it could not import (GET .../import-errors,
each with its original payload) become rejections. Small batches keep the per-profile upsert, as
Klaviyo asks ("should not be used for updating a small number of profiles").

Every request carries the pinned `revision` header; bodies and errors are JSON:API. Each endpoint
family has its own documented rate (fixed windows per second and per minute), so each gets its own
client; normal answers carry RateLimit-* headers and a 429 carries Retry-After (seconds)."""
from __future__ import annotations

import json
import time
from typing import Any, Iterator, Optional, Sequence

import httpx

from ..http import Http, RateLimit
from ..records import ADD, EVENT, Change, Outcome, Rejected, Subscription
from .base import Destination
from .replies import body, check, check_list, clip, event_name, identified, iso_time, jsonable, stop

REVISION = "2025-10-15"
# people.identifiers names that are Klaviyo profile identifiers; anything else (key, ...) is external_id
ID_ATTRIBUTES = {"email": "email", "phone": "phone_number", "phone_number": "phone_number",
                 "external_id": "external_id"}
# fields with these names are standard profile attributes; all other fields become custom properties
PROFILE_ATTRIBUTES = {"email", "phone_number", "external_id", "first_name", "last_name", "organization",
                      "title", "image", "locale"}
FILTER_VALUES = 100  # most values one `any(...)` profile filter may hold
LOOKUP_PAGE = 100    # most profiles one page may hold
# bulk import jobs (klaviyo/openapi bulk_import_profiles.json): "up to 10,000 profiles per request",
# "maximum allowed payload size is 5MB", "per-profile is 100KB"
JOB_PROFILES = 10_000
JOB_BYTES = 5 * 1024 * 1024 - 64 * 1024   # a margin for the envelope around the profiles
PROFILE_BYTES = 100 * 1024
BULK_FROM = 100          # adds of at least this many people in one batch go through a bulk job
JOB_POLL = (0.5, 10.0)   # first and longest wait between polls of a job, in seconds
JOB_TIMEOUT = 3600.0     # a job not complete after this long stops the sync (the cursor stays)
ERRORS_PAGE = 100        # import-errors page[size]: "Min: 1. Max: 100."


def fixed_windows(per_second: int, per_minute: int) -> RateLimit:
    """A token bucket that never exceeds either of Klaviyo's fixed windows (a burst per second and a
    steady rate per minute): capacity c and refill r with c + r <= per_second and c + 60 r <=
    per_minute, with a 2% margin for requests that bunch up on the way."""
    capacity = max(1, (60 * per_second - per_minute) // 59)
    refill = (per_minute - capacity) / 60 * 0.98
    return RateLimit(capacity, capacity / refill)

class Klaviyo(Destination):
    type = "klaviyo"
    batch_size = 1000                     # list relationships: at most 1000 profiles per call
    bulk_batch_size = JOB_PROFILES        # adds, sent as bulk import jobs
    # x-klaviyo-ratelimit of each operation (klaviyo/openapi): list relationships and bulk import jobs
    # 10/s burst, 150/min steady; profile-import and get_profiles 75/s, 700/min; events 350/s, 3500/min
    rate = fixed_windows(10, 150)
    profile_rate = fixed_windows(75, 700)
    event_rate = fixed_windows(350, 3500)
    default_base_url = "https://a.klaviyo.com/api"
    required_settings = ("api_key",)
    secret_settings = ("api_key",)

    def __init__(self, name: str, settings: dict[str, Any]):
        super().__init__(name, settings)
        self.profile_ids: dict[str, str] = {}  # identifier -> Klaviyo profile id, for this sync

    def batch_size_for(self, action: str) -> int:
        if action == ADD and type(self).batch_size == self.batch_size:  # unless `batch_size` lowers it
            return self.bulk_batch_size
        return self.batch_size

    def unknown_list(self, response: httpx.Response) -> bool:
        return response.status_code == 404  # "A list with id ... does not exist" (404 not_found)

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
        if action == ADD and len(people) >= BULK_FROM:
            outcome.rejected.update(self._bulk_import(subscription, people))
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
        check_list(self, response, subscription.list)
        if not response.is_success:
            raise Rejected(self._reason(response))

    # --- bulk import jobs -----------------------------------------------------------------------
    def _bulk_import(self, subscription: Subscription, people: dict[int, Change]) -> dict[int, str]:
        """Import the people through jobs that also add them to the list; {index: reason} of those
        Klaviyo could not import."""
        rejected: dict[int, str] = {}
        job: list[tuple[int, str]] = []  # (index, the profile as JSON)
        size = 0
        for index, change in people.items():
            attributes, properties = self._profile_attributes(change)
            item = json.dumps({"type": "profile", "attributes": {**attributes, "properties": properties}})
            if len(item.encode()) > PROFILE_BYTES:
                rejected[index] = "profile over Klaviyo's 100 KB per-profile limit (fields too large)"
                continue
            if job and (len(job) >= JOB_PROFILES or size + len(item) + 1 > JOB_BYTES):
                rejected.update(self._run_job(subscription, job, people))
                job, size = [], 0
            job.append((index, item))
            size += len(item.encode()) + 1
        if job:
            rejected.update(self._run_job(subscription, job, people))
        return rejected

    def _run_job(self, subscription: Subscription, job: list[tuple[int, str]],
                 people: dict[int, Change]) -> dict[int, str]:
        lists = {"data": [{"type": "list", "id": subscription.list}]}
        payload = ('{"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":['
                   + ",".join(item for _, item in job) + ']}},"relationships":{"lists":'
                   + json.dumps(lists) + "}}}")
        response = self.http.request("POST", "/profile-bulk-import-jobs/", content=payload)
        check_list(self, response, subscription.list)
        if response.status_code != 202:
            raise Rejected(f"bulk import job refused: {self._reason(response)}")
        job_id = str(body(response)["data"]["id"])
        state = self._wait_for(job_id)
        failed = int(state.get("failed_count") or 0)
        if not failed:
            return {}
        by_identifier = {str(people[index].identifier).strip().lower(): index for index, _ in job}
        rejected: dict[int, str] = {}
        for problem in self._import_errors(job_id):
            attributes = problem.get("attributes") or {}
            payload_attributes = ((attributes.get("original_payload") or {}).get("attributes") or {})
            value = payload_attributes.get(self.id_attribute)
            index = by_identifier.get(str(value).strip().lower()) if value is not None else None
            if index is not None:
                rejected[index] = clip(f"import error {attributes.get('code') or ''}: "
                                       f"{attributes.get('detail') or attributes.get('title') or ''}")
        if len(rejected) < failed:
            # failures Klaviyo counted but that name nobody in this batch: refuse it, so the engine
            # splits it down to the records that fail rather than acknowledge records that did not land
            raise Rejected(f"bulk import job {job_id}: {failed - len(rejected)} failure(s) not attributable")
        return rejected

    def _wait_for(self, job_id: str) -> dict[str, Any]:
        """The job's attributes once it is complete; GaveUp when it was cancelled or takes too long."""
        wait, waited = JOB_POLL[0], 0.0
        while True:
            response = self.http.request("GET", f"/profile-bulk-import-jobs/{job_id}/")
            check(self, response, missing=f"bulk import job {job_id}")
            if not response.is_success:
                raise Rejected(f"bulk import job {job_id}: {self._reason(response)}")
            state = (body(response) or {}).get("data", {}).get("attributes") or {}
            status = state.get("status")
            if status == "complete":
                return state
            if status == "cancelled" or waited >= JOB_TIMEOUT:
                what = "was cancelled by Klaviyo" if status == "cancelled" else f"is still {status!r} after {waited:.0f} s"
                raise stop(self, f"bulk import job {job_id} {what}; the next sync sends these profiles again")
            time.sleep(wait)
            waited += wait
            wait = min(JOB_POLL[1], wait * 2)

    def _import_errors(self, job_id: str) -> Iterator[dict[str, Any]]:
        query: dict[str, str] = {"page[size]": str(ERRORS_PAGE)}
        while query:
            response = self.http.request("GET", f"/profile-bulk-import-jobs/{job_id}/import-errors/", params=query)
            check(self, response, missing=f"bulk import job {job_id}")
            if not response.is_success:
                raise Rejected(f"bulk import job {job_id}: {self._reason(response)}")
            answer = body(response) or {}
            yield from answer.get("data") or []
            following = (answer.get("links") or {}).get("next")
            query = dict(httpx.URL(following).params) if following else {}

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
