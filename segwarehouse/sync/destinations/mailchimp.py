"""Mailchimp Marketing API: `list` is "audience_id/segment_id" (a static segment of an audience).
Adding puts the people into the audience first, then the accepted ones into the static segment
(POST /lists/{id}/segments/{sid} with members_to_add, at most 500). Into the audience: the batch call
POST /lists/{id} (at most 500) with `status` on each member, as its schema requires for new members
(`status_if_new` exists only on PUT /members/{hash}), and `update_existing: false`, since `true` would
"change existing members' subscription status" (Marketing API 3.0.55): new people are created with
`new_member_status` (default subscribed), existing ones come back as "already a list member" and keep
their status and consent; their merge fields are then updated with PATCH /lists/{id}/members/{hash},
which leaves the status alone. `fields` become merge fields, named by the `merge_fields` setting or
upper-cased; the tags are checked against the audience's merge fields (GET /lists/{id}/merge-fields)
before the first add, so a tag the audience lacks stops the sync naming the field.
Removing takes them out of the segment only: the audience and their consent stay as they are.
`event` actions post "entered_segment" / "exited_segment" member events.

Both batch calls answer 200 even when some emails were refused, listing those in `errors`. Other
errors are application/problem+json. A 429 has no rate headers (the limit is 10 concurrent
connections), so it is retried with backoff. The base URL comes from the data center at the end of
the API key (…-us6 -> https://us6.api.mailchimp.com/3.0) unless base_url is set."""
from __future__ import annotations

import hashlib
import re
import threading
from typing import Any, Optional, Sequence

import httpx

from ...errors import ValidationError
from ..records import ADD, REMOVE, Change, Outcome, Rejected, Subscription
from .base import Destination
from .replies import body, check, clip, event_name, identified, iso_time, jsonable, stop

DATA_CENTER = re.compile(r"-([a-z]{2,4}\d{1,3})$")
NEW_MEMBER_STATUSES = ("subscribed", "pending", "transactional")  # pending: Mailchimp sends an opt-in email
ALREADY_MEMBER = "ERROR_CONTACT_EXISTS"


class Mailchimp(Destination):
    type = "mailchimp"
    batch_size = 500
    rate = None  # no request rate is documented, only 10 concurrent connections; we use one
    required_settings = ("api_key",)
    secret_settings = ("api_key",)
    # merge_fields: {field: MERGE_TAG}, e.g. {first_name: FNAME}; new_member_status: subscribed | pending |
    # transactional, the status people new to the audience get (existing members keep theirs)
    optional_settings = ("merge_fields", "new_member_status")

    def __init__(self, name: str, settings: dict[str, Any]):
        super().__init__(name, settings)
        for _, problem in self.check_settings(settings):
            raise ValidationError(f"destination {name!r} (mailchimp): {problem}")
        self.new_member_status = settings.get("new_member_status", "subscribed")
        self._tags: dict[str, set[str]] = {}  # audience id -> its merge tags, read once per sync
        self._tags_lock = threading.Lock()

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        status = settings.get("new_member_status", "subscribed")
        if status not in NEW_MEMBER_STATUSES:
            return [("new_member_status", f"`new_member_status` is one of {', '.join(NEW_MEMBER_STATUSES)}, "
                                          f"not {status!r}")]
        return []

    def vendor_url(self) -> str:
        found = DATA_CENTER.search(str(self.settings.get("api_key") or ""))
        if not found:
            raise ValidationError(f"destination {self.name!r} (mailchimp): the api_key does not end in a "
                                  f"data center such as -us6; set base_url")
        return f"https://{found.group(1)}.api.mailchimp.com/3.0"

    def auth(self) -> tuple[str, str]:
        return "segwarehouse", str(self.settings.get("api_key") or "")  # any user name, the key as password

    # --- sending -------------------------------------------------------------------------------
    def deliver(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        audience, segment = self._ids(subscription)
        keep, rejected = identified(batch, self.identifier)
        outcome = Outcome(rejected)
        by_email: dict[str, list[int]] = {}  # lower-cased email -> batch indexes (Mailchimp ignores case)
        for index in keep:
            by_email.setdefault(str(batch[index].identifier).strip().lower(), []).append(index)
        if not by_email:
            return outcome
        if action == ADD:
            refused = self._upsert(audience, {email: batch[ix[-1]] for email, ix in by_email.items()})
            accepted = [email for email in by_email if email not in refused]
            if accepted:
                refused.update(self._segment(audience, segment, "members_to_add", accepted))
            for email, reason in refused.items():
                for index in by_email.get(email, []):
                    outcome.rejected[index] = reason
        elif action == REMOVE:
            # emails not in the audience are not in the segment either: nothing to do, not an error
            self._segment(audience, segment, "members_to_remove", list(by_email))
        else:  # EVENT
            for email, indexes in by_email.items():
                for index in indexes:
                    reason = self._event(audience, subscription, email, batch[index])
                    if reason:
                        outcome.rejected[index] = reason
        return outcome

    def _ids(self, subscription: Subscription) -> tuple[str, str]:
        parts = str(subscription.list or "").split("/")
        if len(parts) != 2 or not all(parts):
            raise ValidationError(f"segment {subscription.segment!r}: a mailchimp `list` is "
                                  f"\"audience_id/segment_id\", not {subscription.list!r}")
        return parts[0], parts[1]

    def _upsert(self, audience: str, people: dict[str, Change]) -> dict[str, str]:
        """Create the new people, update the existing ones' merge fields (never their status); the
        refused emails with Mailchimp's reason."""
        merges = {email: self._merge_fields(change) for email, change in people.items()}
        self._check_tags(audience, people, merges)
        members = []
        for email in people:
            member: dict[str, Any] = {"email_address": email, "status": self.new_member_status}
            if merges[email]:
                member["merge_fields"] = merges[email]
            members.append(member)
        response = self.http.request("POST", f"/lists/{audience}",
                                     json={"members": members, "update_existing": False})
        answer = self._answer(response, f"the audience id ({audience!r})")
        refused, existing = {}, []
        for error in answer.get("errors") or []:
            email = str(error.get("email_address", "")).lower()
            if error.get("error_code") == ALREADY_MEMBER or "already a list member" in str(error.get("error")):
                existing.append(email)
                continue
            reason = clip(f"{error.get('error')} ({error.get('error_code')})" if error.get("error_code")
                          else error.get("error"))
            refused[email] = reason
        for email in existing:
            if merges.get(email):
                reason = self._update_member(audience, email, merges[email])
                if reason:
                    refused[email] = reason
        return refused

    def _update_member(self, audience: str, email: str, merge: dict[str, Any]) -> str:
        """PATCH an existing member's merge fields (its status is not in the body, so it stays); ''
        when Mailchimp took it, else its reason."""
        member = hashlib.md5(email.encode()).hexdigest()
        response = self.http.request("PATCH", f"/lists/{audience}/members/{member}", json={"merge_fields": merge})
        check(self, response)
        return "" if response.is_success else self._problem(response)

    def _check_tags(self, audience: str, people: dict[str, Change], merges: dict[str, dict[str, Any]]) -> None:
        """Stop, naming the field, when a merge tag we would send is not one of the audience's: whether
        Mailchimp ignores such a tag or refuses the member is not documented, and either loses data."""
        wanted = {tag for merge in merges.values() for tag in merge}
        if not wanted:
            return
        known = self._audience_tags(audience)
        unknown = sorted(wanted - known)
        if unknown:
            tag = unknown[0]
            field = self._field_of(tag, people)
            raise stop(self, f"the audience {audience!r} has no merge field {tag} (from the field `{field}`); "
                             f"its merge tags: {', '.join(sorted(known)) or 'none'}. Add the merge field in "
                             f"Mailchimp, or map the field with `merge_fields: {{{field}: TAG}}`")

    def _audience_tags(self, audience: str) -> set[str]:
        with self._tags_lock:
            if audience not in self._tags:
                response = self.http.request("GET", f"/lists/{audience}/merge-fields",
                                             params={"count": 1000, "fields": "merge_fields.tag"})
                answer = self._answer(response, f"the audience id ({audience!r})")
                self._tags[audience] = {str(f.get("tag")).upper() for f in answer.get("merge_fields") or []
                                        if isinstance(f, dict) and f.get("tag")}
            return self._tags[audience]

    def _field_of(self, tag: str, people: dict[str, Change]) -> str:
        mapping: Optional[dict] = self.settings.get("merge_fields")
        if mapping:
            return next((str(f) for f, t in mapping.items() if str(t).upper() == tag), tag.lower())
        names = {name for change in people.values() for name in change.fields}
        return next((name for name in sorted(names) if name.upper() == tag), tag.lower())

    def _merge_fields(self, change: Change) -> dict[str, Any]:
        """`fields` as merge fields: through the `merge_fields` setting ({field: TAG}, only those are
        sent) or, without it, every field under its upper-cased name (first_name -> FIRST_NAME)."""
        mapping = self.settings.get("merge_fields")
        values = jsonable(change.fields)
        if mapping:
            pairs = [(str(tag).upper(), values[field]) for field, tag in mapping.items() if field in values]
        else:
            pairs = [(name.upper(), value) for name, value in values.items()]
        # the address is the member's identity, not a merge field
        return {tag: "" if value is None else value for tag, value in pairs if tag not in ("EMAIL", "EMAIL_ADDRESS")}

    def _segment(self, audience: str, segment: str, key: str, emails: list[str]) -> dict[str, str]:
        response = self.http.request("POST", f"/lists/{audience}/segments/{segment}", json={key: emails})
        answer = self._answer(response, f"the audience and static segment ids ({audience}/{segment})")
        refused = {}
        for error in answer.get("errors") or []:
            for email in error.get("email_addresses") or []:
                refused[str(email).lower()] = clip(error.get("error"))
        return refused

    def _event(self, audience: str, subscription: Subscription, email: str, change: Change) -> str:
        """'' when Mailchimp took the event, else its reason (a 404: not in the audience)."""
        member = hashlib.md5(email.encode()).hexdigest()
        properties = {"segment": subscription.segment,
                      **{k: "" if v is None else str(v) for k, v in jsonable(change.fields).items()}}
        response = self.http.request("POST", f"/lists/{audience}/members/{member}/events", json={
            "name": event_name(change.change).lower().replace(" ", "_"), "properties": properties,
            "occurred_at": iso_time(change.changed_at)})
        check(self, response)  # a 404 is this person's: not in the audience
        return "" if response.is_success else self._problem(response)

    # --- reading answers -----------------------------------------------------------------------
    def _answer(self, response: httpx.Response, what: str) -> dict[str, Any]:
        check(self, response, missing=what)
        if not response.is_success:
            raise Rejected(self._problem(response))
        answer = body(response)
        return answer if isinstance(answer, dict) else {}

    @staticmethod
    def _problem(response: httpx.Response) -> str:
        """An application/problem+json answer as one line: title, detail, field errors."""
        answer = body(response)
        if not isinstance(answer, dict):
            return f"HTTP {response.status_code}"
        fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in answer.get("errors") or []
                           if isinstance(e, dict))
        return clip(f"HTTP {response.status_code} {answer.get('title') or ''}: {answer.get('detail') or ''}"
                    + (f" ({fields})" if fields else ""))
