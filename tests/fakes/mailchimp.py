"""A fake Mailchimp Marketing API (mounted under /3.0): audiences of members (email, status, merge
fields), their merge fields, static segments of member emails, member events. HTTP Basic auth with the
key as password; application/problem+json errors; at most 500 members per batch upsert and 500 per
segment list (400 above); batch calls answer 200 with errors[] for the emails refused; a 429 without
rate headers, when more than 10 requests are in flight or when the test's fixed window (`rate`) is
used up. The batch upsert follows the Marketing API spec 3.0.55 (DESTINATIONS.md, Corrections): a new
member needs `status` (`status_if_new` is not part of the batch member schema and is ignored), and only
`update_existing: true` changes an existing member's status."""
from __future__ import annotations

import base64
import hashlib
import re
import threading
import uuid
from typing import Any, Optional

from .server import FakeServer, Request, Response, route

TYPE = "mailchimp"
AUDIENCE, SEGMENT = "a1b2c3d4e5", "4242"
LIST = f"{AUDIENCE}/{SEGMENT}"
API_KEY = "0123456789abcdef0123456789abcdef-us6"
MAX_MEMBERS = 500
MAX_CONNECTIONS = 10
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EVENT_NAME = re.compile(r"^[A-Za-z0-9_-]{2,30}$")
STATUSES = {"subscribed", "unsubscribed", "cleaned", "pending", "transactional"}
# the audience's merge fields (GET /lists/{id}/merge-fields); EMAIL is the address, not listed there
MERGE_TAGS = ("FNAME", "LNAME", "PLAN", "FIRST_NAME")


def problem(status: int, title: str, detail: str, errors: Optional[list] = None) -> Response:
    body = {"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": title,
            "status": status, "detail": detail, "instance": str(uuid.uuid4())}
    if errors:
        body["errors"] = errors
    return Response(status, body, {"Content-Type": "application/problem+json"})


def invalid(detail: str, field: str, message: str) -> Response:
    return problem(400, "Invalid Resource", detail, [{"field": field, "message": message}])


class FakeMailchimp(FakeServer):
    rate = None  # Mailchimp limits concurrency, not a request rate; tests may set a window

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.audiences: dict[str, dict[str, dict[str, Any]]] = {AUDIENCE: {}}  # id -> lower email -> member
        self.merge_tags: dict[str, list[str]] = {AUDIENCE: list(MERGE_TAGS)}   # id -> its merge tags
        self.segments: dict[tuple[str, str], set[str]] = {(AUDIENCE, SEGMENT): set()}  # -> lower emails
        self.events: list[dict[str, Any]] = []
        self.in_flight, self.counting = 0, threading.Lock()

    def authorized(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            return base64.b64decode(value).decode().partition(":")[2] == API_KEY
        except ValueError:
            return False

    def unauthorized(self) -> Response:
        return problem(401, "API Key Invalid",
                       "Your API key may be invalid, or you've attempted to access the wrong datacenter.")

    def rate_limited(self, reset_in: float) -> Response:
        return problem(429, "Too Many Requests",
                       f"You have exceeded the limit of {MAX_CONNECTIONS} simultaneous connections.")

    def dispatch(self, request: Request) -> Optional[Response]:
        with self.counting:
            self.in_flight += 1
        try:
            return super().dispatch(request)
        finally:
            with self.counting:
                self.in_flight -= 1

    def _rate(self) -> tuple[bool, int, float]:
        """Over 10 requests in flight is Mailchimp's limit; the test window (`rate`) comes after."""
        if self.in_flight > MAX_CONNECTIONS:
            return False, 0, 0.0
        return super()._rate()

    # --- audience members ----------------------------------------------------------------------
    @route("POST", r"/3\.0/lists/(?P<audience>[^/]+)")
    def batch_upsert(self, request: Request, audience: str) -> Response:
        if audience not in self.audiences:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        body = request.json()
        members = body["members"]
        if len(members) > MAX_MEMBERS:
            return invalid("The resource submitted could not be validated. For field-specific details, "
                           "see the 'errors' array.", "members",
                           f"Schema describes array with at most {MAX_MEMBERS} items, {len(members)} found")
        known = self.audiences[audience]
        created, updated, errors = [], [], []
        for member in members:
            email = str(member.get("email_address", ""))
            if not EMAIL.match(email):
                errors.append({"email_address": email, "error_code": "ERROR_GENERIC",
                               "error": f"{email} looks fake or invalid, please enter a real email address."})
                continue
            status = member.get("status")  # the batch member schema has no status_if_new (spec 3.0.55)
            current = known.get(email.lower())
            if current is None:
                if status not in STATUSES:
                    errors.append({"email_address": email, "error_code": "ERROR_GENERIC",
                                   "error": "The status of a new member must be given: "
                                            f"one of {', '.join(sorted(STATUSES))}"})
                    continue
                known[email.lower()] = current = {"email_address": email, "status": status, "merge_fields": {}}
                created.append(current)
            elif body.get("update_existing"):
                # "Whether this batch operation will change existing members' subscription status"
                if status in STATUSES:
                    current["status"] = status
                updated.append(current)
            else:
                errors.append({"email_address": email, "error_code": "ERROR_CONTACT_EXISTS",
                               "error": f"{email} is already a list member. Use PUT to insert or update list members."})
                continue
            self._merge(audience, current, member.get("merge_fields"))
        return Response(200, {"new_members": [dict(m) for m in created], "updated_members": [dict(m) for m in updated],
                              "errors": errors, "total_created": len(created), "total_updated": len(updated),
                              "error_count": len(errors)})

    def _merge(self, audience: str, member: dict[str, Any], merge: Any) -> None:
        """Set the merge fields the audience has. Whether Mailchimp ignores an unknown tag or refuses the
        member is not documented: this fake ignores it, the case that loses data silently (README)."""
        known = set(self.merge_tags.get(audience, ()))
        member["merge_fields"].update({k: v for k, v in (merge or {}).items() if k in known})

    @route("PATCH", r"/3\.0/lists/(?P<audience>[^/]+)/members/(?P<member>[0-9a-f]{32})")
    def update_member(self, request: Request, audience: str, member: str) -> Response:
        """PATCH /lists/{id}/members/{hash}: changes only what the body names (no status here: it stays)."""
        known = self.audiences.get(audience, {})
        email = next((e for e in known if hashlib.md5(e.encode()).hexdigest() == member), None)
        if email is None:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        body = request.json()
        if "status" in body:
            if body["status"] not in STATUSES:
                return invalid("The resource submitted could not be validated.", "status", "Invalid status")
            known[email]["status"] = body["status"]
        self._merge(audience, known[email], body.get("merge_fields"))
        return Response(200, dict(known[email]))

    @route("GET", r"/3\.0/lists/(?P<audience>[^/]+)/merge-fields")
    def merge_fields(self, request: Request, audience: str) -> Response:
        if audience not in self.audiences:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        count = int(request.query.get("count", ["10"])[0])  # default 10, at most 1000 (spec)
        if count > 1000:
            return invalid("The resource submitted could not be validated.", "count", "at most 1000")
        tags = self.merge_tags.get(audience, [])
        return Response(200, {"merge_fields": [{"tag": t, "name": t.title(), "type": "text"} for t in tags[:count]],
                              "list_id": audience, "total_items": len(tags)})

    # --- static segments -----------------------------------------------------------------------
    @route("POST", r"/3\.0/lists/(?P<audience>[^/]+)/segments/(?P<segment>[^/]+)")
    def segment_members(self, request: Request, audience: str, segment: str) -> Response:
        if (audience, segment) not in self.segments:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        body = request.json()
        for key in ("members_to_add", "members_to_remove"):
            if len(body.get(key) or []) > MAX_MEMBERS:
                return invalid("The resource submitted could not be validated. For field-specific details, "
                               "see the 'errors' array.", key,
                               f"Schema describes array with at most {MAX_MEMBERS} items")
        members, audience_members = self.segments[(audience, segment)], self.audiences[audience]
        added, removed, strangers = [], [], []
        for email in body.get("members_to_add") or []:
            if str(email).lower() in audience_members:
                members.add(str(email).lower())
                added.append(audience_members[str(email).lower()])
            else:
                strangers.append(email)
        for email in body.get("members_to_remove") or []:
            if str(email).lower() in audience_members:
                members.discard(str(email).lower())
                removed.append(audience_members[str(email).lower()])
            else:
                strangers.append(email)
        errors = ([{"email_addresses": strangers, "error": "Email addresses are not members of this audience"}]
                  if strangers else [])
        return Response(200, {"members_added": added, "members_removed": removed, "errors": errors,
                              "total_added": len(added), "total_removed": len(removed),
                              "error_count": len(strangers)})

    # --- member events -------------------------------------------------------------------------
    @route("POST", r"/3\.0/lists/(?P<audience>[^/]+)/members/(?P<member>[0-9a-f]{32})/events")
    def member_event(self, request: Request, audience: str, member: str) -> Response:
        known = self.audiences.get(audience, {})
        email = next((e for e in known if hashlib.md5(e.encode()).hexdigest() == member), None)
        if email is None:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        body = request.json()
        if not EVENT_NAME.match(str(body.get("name", ""))):
            return invalid("The resource submitted could not be validated.", "name",
                           "Event names are 2 to 30 letters, digits, dashes or underscores")
        if not all(isinstance(v, str) for v in (body.get("properties") or {}).values()):
            return invalid("The resource submitted could not be validated.", "properties",
                           "Event property values must be strings")
        self.events.append({"email": email, **body})
        return Response(204)


def make_fake(faults=None) -> FakeMailchimp:
    return FakeMailchimp(faults=faults)


def settings(base_url: str) -> dict[str, Any]:
    return {"type": TYPE, "api_key": API_KEY, "base_url": f"{base_url}/3.0"}


def members(fake: FakeMailchimp, list_id: str) -> set[str]:
    audience, segment = list_id.split("/")
    with fake.lock:
        return {fake.audiences[audience][email]["email_address"] for email in fake.segments[(audience, segment)]}
