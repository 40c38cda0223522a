"""A fake Klaviyo API (mounted under /api like the real one): profiles with their identifiers and
properties, lists of profile ids, events de-duplicated by unique_id. It demands the
`Authorization: Klaviyo-API-Key` and `revision` headers, answers JSON:API errors, refuses more than
1000 relationships per call and filter pages over 100, puts RateLimit-* headers on normal answers and
Retry-After on a 429, and answers 409 with meta.duplicate_profile_id when one upsert's identifiers
belong to two different profiles.

Rate limits are per endpoint family, each with a burst and a steady fixed window (Klaviyo OpenAPI
`x-klaviyo-ratelimit` of each operation, klaviyo/openapi openapi/stable/apis/*.json): list relationships
and bulk import jobs 10/s and 150/min; profile-import and get_profiles 75/s and 700/min; events 350/s
and 3500/min.

Bulk profile import jobs (klaviyo/openapi bulk_import_profiles.json, get_bulk_import_profiles_job.json,
get_errors_for_bulk_import_profiles_job.json): POST /api/profile-bulk-import-jobs takes up to 10,000
profiles, 5 MB per payload and 100 KB per profile, and answers 202 with the job (status `queued`);
polling GET /api/profile-bulk-import-jobs/{id} moves it to `processing`, then `complete` with
completed_count / failed_count; failed profiles are listed by GET .../import-errors (page[size] 1..100,
each error with code, title, detail, source and its original_payload); imported profiles are added to
the job's lists. Assumptions where the spec is silent: an over-size payload answers 413 and an
over-size profile 400 for the whole job; an unknown list in the job's relationships answers 404 like
the list endpoints; a job is processed on its polls (POLLS_TO_FINISH)."""
from __future__ import annotations

import itertools
import json
import math
import re
import uuid
from typing import Any, Optional
from urllib.parse import urlencode

from .server import FakeServer, Request, Response, route

TYPE = "klaviyo"
LIST = "XyZ123"
API_KEY = "pk_test_0123456789abcdef"
MAX_RELATIONSHIPS = 1000
MAX_PAGE = 100
MAX_JOB_PROFILES = 10_000          # "Accepts up to 10,000 profiles per request"
MAX_JOB_BYTES = 5 * 1024 * 1024    # "The maximum allowed payload size is 5MB"
MAX_PROFILE_BYTES = 100 * 1024     # "The maximum allowed payload size per-profile is 100KB"
POLLS_TO_FINISH = 2                # queued -> processing (first poll) -> complete (second poll)
# (requests, per seconds) windows per endpoint family: burst and steady (x-klaviyo-ratelimit)
FAMILY_RATES = {"lists": ((10, 1.0), (150, 60.0)), "profiles": ((75, 1.0), (700, 60.0)),
                "events": ((350, 1.0), (3500, 60.0))}
IDENTIFIERS = ("email", "phone_number", "external_id")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FILTER = re.compile(r"^(any|equals)\((id|email|phone_number|external_id),(.*)\)$")


def error(status: int, code: str, title: str, detail: str, source: Optional[dict] = None,
          meta: Optional[dict] = None, headers: Optional[dict] = None) -> Response:
    item = {"id": str(uuid.uuid4()), "status": status, "code": code, "title": title, "detail": detail,
            "source": source or {"pointer": "/data/"}}
    if meta:
        item["meta"] = meta
    return Response(status, {"errors": [item]}, {"Content-Type": "application/vnd.api+json", **(headers or {})})


def invalid(detail: str, pointer: str = "/data/") -> Response:
    return error(400, "invalid", "Invalid input.", detail, {"pointer": pointer})


class FakeKlaviyo(FakeServer):
    family_rates = FAMILY_RATES

    def __init__(self, lists=(LIST,), **kwargs):
        super().__init__(**kwargs)
        self.jobs: dict[str, dict[str, Any]] = {}  # bulk import job id -> its state, profiles and errors
        self.last_limit = 0
        self.profiles: dict[str, dict[str, Any]] = {}  # id -> identifiers, names and `properties`
        self.index: dict[tuple[str, Any], str] = {}  # (identifier name, value) -> profile id
        self.lists: dict[str, set[str]] = {list_id: set() for list_id in lists}
        self.events: dict[str, dict[str, Any]] = {}  # unique_id -> event attributes
        self.numbers = itertools.count(1)

    # --- vendor behaviour shared by every route -------------------------------------------------
    def authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Klaviyo-API-Key {API_KEY}"

    def unauthorized(self) -> Response:
        return error(401, "not_authenticated", "Authentication credentials were not provided.",
                     "Missing or invalid private key.")

    def family_of(self, request: Request) -> Optional[str]:
        path = request.path
        family = ("lists" if path.startswith(("/api/lists", "/api/profile-bulk-import-jobs")) else
                  "events" if path.startswith("/api/events") else "profiles")
        windows = self.family_rates.get(family)
        self.last_limit = windows[0][0] if windows else 0  # read by rate_headers, under the same lock
        return family

    def rate_headers(self, remaining: int, reset_in: float) -> dict[str, str]:
        limit = self.last_limit or (self.rate[0] if self.rate else 1_000_000)
        return {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(remaining),
                "RateLimit-Reset": str(math.ceil(reset_in))}

    def rate_limited(self, reset_in: float) -> Response:
        wait = max(1, math.ceil(reset_in))
        return error(429, "throttled", "Request was throttled.",
                     f"Request was throttled. Expected available in {wait} second.", headers={"Retry-After": str(wait)})

    def _route(self, request: Request) -> Response:
        if not request.headers.get("revision"):
            return error(400, "invalid", "Invalid input.", "Missing required header: revision",
                         {"parameter": "revision"})
        return super()._route(request)

    # --- profiles ------------------------------------------------------------------------------
    @route("POST", r"/api/profile-import")
    def profile_import(self, request: Request) -> Response:
        data = request.json()["data"]
        if data.get("type") != "profile":
            return invalid("Expected type 'profile'", "/data/type")
        attributes = dict(data.get("attributes") or {})
        properties = attributes.pop("properties", None) or {}
        email = attributes.get("email")
        if email is not None and not EMAIL.match(str(email)):
            return invalid(f"Invalid email address: {email}", "/data/attributes/email")
        matches = [self._find(name, attributes[name]) for name in IDENTIFIERS if attributes.get(name)]
        matches = [m for m in matches if m]
        profile_id = data.get("id")
        if profile_id:
            if profile_id not in self.profiles:
                return error(404, "not_found", "Not found.", f"A profile with id {profile_id} does not exist.")
            others = [m for m in matches if m != profile_id]
            if others:
                return self._conflict(others[0])
        else:
            if not matches and not any(attributes.get(name) for name in IDENTIFIERS):
                return invalid("One of email, phone_number or external_id is required", "/data/attributes")
            if len(set(matches)) > 1:
                return self._conflict(matches[0])
            profile_id = matches[0] if matches else None
        created = profile_id is None
        profile_id = self._save(profile_id, attributes, properties)
        return Response(201 if created else 200, {"data": self._resource(profile_id)})

    @route("GET", r"/api/profiles")
    def get_profiles(self, request: Request) -> Response:
        size = int((request.query.get("page[size]") or ["20"])[0])
        if not 1 <= size <= MAX_PAGE:
            return error(400, "invalid", "Invalid input.", f"Page size must be between 1 and {MAX_PAGE}.",
                         {"parameter": "page[size]"})
        match = FILTER.match((request.query.get("filter") or [""])[0])
        if not match:
            return error(400, "invalid", "Invalid input.", "Invalid filter provided.", {"parameter": "filter"})
        operator, field, raw = match.groups()
        values = json.loads(raw) if operator == "any" else [json.loads(raw)]
        if len(values) > MAX_PAGE:
            return error(400, "invalid", "Invalid input.", f"Too many values in filter (max {MAX_PAGE}).",
                         {"parameter": "filter"})
        wanted = {str(v) for v in values}
        ids = [pid for pid, p in self.profiles.items() if (pid if field == "id" else str(p.get(field))) in wanted]
        offset = int((request.query.get("page[cursor]") or ["0"])[0])
        following = None
        if offset + size < len(ids):
            query = urlencode({"filter": request.query["filter"][0], "page[size]": size, "page[cursor]": offset + size})
            following = f"{self.base_url}/api/profiles/?{query}"
        return Response(200, {"data": [self._resource(pid) for pid in ids[offset:offset + size]],
                              "links": {"next": following}})

    def _find(self, field: str, value: Any) -> Optional[str]:
        return self.index.get((field, value))

    def _save(self, profile_id: Optional[str], attributes: dict[str, Any], properties: dict[str, Any]) -> str:
        """Create (no id) or update a profile, keeping the identifier index current."""
        if profile_id is None:
            profile_id = f"01FAKEPROFILE{next(self.numbers):06d}"
            self.profiles[profile_id] = {"properties": {}}
        profile = self.profiles[profile_id]
        for name in IDENTIFIERS:
            if attributes.get(name) is not None:
                self.index.pop((name, profile.get(name)), None)
                self.index[(name, attributes[name])] = profile_id
        profile.update({k: v for k, v in attributes.items() if v is not None})
        profile["properties"].update(properties)
        return profile_id

    def _resource(self, profile_id: str) -> dict[str, Any]:
        return {"type": "profile", "id": profile_id, "attributes": dict(self.profiles[profile_id])}

    @staticmethod
    def _conflict(existing: str) -> Response:
        return error(409, "duplicate_profile", "Conflict.", "A profile already exists with one of these identifiers.",
                     {"pointer": "/data/attributes"}, meta={"duplicate_profile_id": existing})

    # --- lists ---------------------------------------------------------------------------------
    @route("POST", r"/api/lists/(?P<list_id>[^/]+)/relationships/profiles")
    def add_to_list(self, request: Request, list_id: str) -> Response:
        return self._relate(request, list_id, set.update)

    @route("DELETE", r"/api/lists/(?P<list_id>[^/]+)/relationships/profiles")
    def remove_from_list(self, request: Request, list_id: str) -> Response:
        return self._relate(request, list_id, set.difference_update)

    def _relate(self, request: Request, list_id: str, apply) -> Response:
        if list_id not in self.lists:
            return error(404, "not_found", "Not found.", f"A list with id {list_id} does not exist.")
        data = request.json()["data"]
        if len(data) > MAX_RELATIONSHIPS:
            return invalid(f"Too many profiles: {len(data)} given, at most {MAX_RELATIONSHIPS} per request")
        for index, item in enumerate(data):
            if item.get("type") != "profile" or item.get("id") not in self.profiles:
                return invalid(f"Profile {item.get('id')!r} does not exist", f"/data/{index}/id")
        apply(self.lists[list_id], {item["id"] for item in data})
        return Response(204)

    # --- bulk profile import jobs ---------------------------------------------------------------
    @route("POST", r"/api/profile-bulk-import-jobs")
    def create_import_job(self, request: Request) -> Response:
        if len(request.body) > MAX_JOB_BYTES:
            return error(413, "invalid", "Payload too large.",
                         f"The maximum allowed payload size is 5MB; got {len(request.body)} bytes")
        data = request.json()["data"]
        if data.get("type") != "profile-bulk-import-job":
            return invalid("Expected type 'profile-bulk-import-job'", "/data/type")
        profiles = data["attributes"]["profiles"]["data"]
        if not isinstance(profiles, list) or not profiles:
            return invalid("At least one profile is required", "/data/attributes/profiles/data")
        if len(profiles) > MAX_JOB_PROFILES:
            return invalid(f"Too many profiles: {len(profiles)} given, at most {MAX_JOB_PROFILES} per job",
                           "/data/attributes/profiles/data")
        for index, item in enumerate(profiles):
            if len(json.dumps(item).encode()) > MAX_PROFILE_BYTES:
                return invalid("The maximum allowed payload size per-profile is 100KB",
                               f"/data/attributes/profiles/data/{index}")
        lists = [item["id"] for item in ((data.get("relationships") or {}).get("lists") or {}).get("data") or []]
        for list_id in lists:
            if list_id not in self.lists:
                return error(404, "not_found", "Not found.", f"A list with id {list_id} does not exist.")
        job_id = f"FAKEJOB{next(self.numbers):06d}"
        self.jobs[job_id] = {"status": "queued", "polls": 0, "profiles": profiles, "lists": lists,
                             "completed_count": 0, "failed_count": 0, "errors": []}
        return Response(202, {"data": self._job(job_id)})

    @route("GET", r"/api/profile-bulk-import-jobs/(?P<job_id>[^/]+)")
    def get_import_job(self, request: Request, job_id: str) -> Response:
        if job_id not in self.jobs:
            return error(404, "not_found", "Not found.", f"A job with id {job_id} does not exist.")
        job = self.jobs[job_id]
        job["polls"] += 1
        if job["status"] == "queued":
            job["status"] = "processing"
        if job["status"] == "processing" and job["polls"] >= POLLS_TO_FINISH:
            self._run_job(job)
        return Response(200, {"data": self._job(job_id)})

    @route("GET", r"/api/profile-bulk-import-jobs/(?P<job_id>[^/]+)/import-errors")
    def get_import_errors(self, request: Request, job_id: str) -> Response:
        if job_id not in self.jobs:
            return error(404, "not_found", "Not found.", f"A job with id {job_id} does not exist.")
        size = int((request.query.get("page[size]") or ["20"])[0])
        if not 1 <= size <= MAX_PAGE:  # "Default: 20. Min: 1. Max: 100."
            return error(400, "invalid", "Invalid input.", f"Page size must be between 1 and {MAX_PAGE}.",
                         {"parameter": "page[size]"})
        errors = self.jobs[job_id]["errors"]
        offset = int((request.query.get("page[cursor]") or ["0"])[0])
        following = None
        if offset + size < len(errors):
            query = urlencode({"page[size]": size, "page[cursor]": offset + size})
            following = f"{self.base_url}/api/profile-bulk-import-jobs/{job_id}/import-errors/?{query}"
        return Response(200, {"data": errors[offset:offset + size], "links": {"self": "", "next": following}})

    def _run_job(self, job: dict[str, Any]) -> None:
        """Import every profile like profile-import would, adding the imported ones to the job's lists."""
        for item in job["profiles"]:
            attributes = dict(item.get("attributes") or {})
            properties = attributes.pop("properties", None) or {}
            email = attributes.get("email")
            problem = None
            if email is not None and not EMAIL.match(str(email)):
                problem = f"Invalid email address: {email}"
            elif not any(attributes.get(name) for name in IDENTIFIERS):
                problem = "One of email, phone_number or external_id is required"
            matches = {self._find(n, attributes[n]) for n in IDENTIFIERS if attributes.get(n)} - {None}
            if problem is None and len(matches) > 1:
                problem = "A profile already exists with one of these identifiers."
            if problem:
                job["failed_count"] += 1
                job["errors"].append({"type": "import-error", "id": str(uuid.uuid4()), "attributes": {
                    "code": "invalid", "title": "Invalid input.", "detail": problem,
                    "source": {"pointer": "/data/attributes/profiles/data"}, "original_payload": item}})
                continue
            profile_id = self._save(matches.pop() if matches else None, attributes, properties)
            for list_id in job["lists"]:
                self.lists[list_id].add(profile_id)
            job["completed_count"] += 1
        job["status"] = "complete"

    def _job(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        return {"type": "profile-bulk-import-job", "id": job_id, "links": {"self": ""}, "attributes": {
            "status": job["status"], "created_at": "2026-11-23T03:00:00+00:00", "total_count": len(job["profiles"]),
            "completed_count": job["completed_count"], "failed_count": job["failed_count"],
            "completed_at": None, "expires_at": None, "started_at": None}}

    # --- events --------------------------------------------------------------------------------
    @route("POST", r"/api/events")
    def create_event(self, request: Request) -> Response:
        attributes = request.json()["data"]["attributes"]
        name = attributes["metric"]["data"]["attributes"].get("name")
        if not name:
            return invalid("A metric name is required", "/data/attributes/metric/data/attributes/name")
        who = attributes["profile"]["data"]["attributes"]
        email = who.get("email")
        if email is not None and not EMAIL.match(str(email)):
            return invalid(f"Invalid email address: {email}", "/data/attributes/profile/data/attributes/email")
        if not any(who.get(n) for n in IDENTIFIERS):
            return invalid("One of email, phone_number or external_id is required",
                           "/data/attributes/profile/data/attributes")
        unique_id = attributes.get("unique_id") or str(uuid.uuid4())
        if unique_id not in self.events:  # Klaviyo keeps one event per unique_id
            self.events[unique_id] = attributes
            if not any(self._find(n, who[n]) for n in IDENTIFIERS if who.get(n)):  # events create profiles
                self._save(None, {n: who[n] for n in IDENTIFIERS if who.get(n)}, {})
        return Response(202)


def make_fake(faults=None) -> FakeKlaviyo:
    return FakeKlaviyo(faults=faults)


def settings(base_url: str) -> dict[str, Any]:
    return {"type": TYPE, "api_key": API_KEY, "base_url": f"{base_url}/api"}


def members(fake: FakeKlaviyo, list_id: str) -> set[str]:
    """Each member's email (or, without one, external_id or phone number)."""
    with fake.lock:
        found = set()
        for profile_id in fake.lists.get(list_id, set()):
            profile = fake.profiles[profile_id]
            found.add(next(str(profile[n]) for n in IDENTIFIERS if profile.get(n)))
        return found
