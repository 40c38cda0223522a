"""The Mailchimp destination against a local fake of the Marketing API over loopback."""

import httpx
import pytest

from fakes import mailchimp as fake_mailchimp
from fakes.mailchimp import API_KEY, AUDIENCE, LIST, SEGMENT
from fakes.server import Faults
from helpers.fast_destinations import change, pointed_at, serving, subscription
from segwarehouse.errors import ValidationError
from segwarehouse.sync.destinations import destination_for
from segwarehouse.sync.destinations.replies import AccessDenied, NotFound
from segwarehouse.sync.http import GaveUp
from segwarehouse.sync.records import Rejected, Subscription

SUB = subscription(LIST, segment="vip_customers", destination="mailchimp")


@pytest.fixture
def fake():
    yield from serving(fake_mailchimp)


def mailchimp(fake, **overrides):
    return pointed_at(fake_mailchimp, fake, "mailchimp", **overrides)


def member(fake, email):
    return fake.audiences[AUDIENCE][email.lower()]


def test_adds_removes_and_updates_make_the_segment_exact(fake):
    dest = mailchimp(fake)
    batch = [change("a@x.com", fields={"email": "a@x.com", "fname": "Ann", "plan": "pro"}), change("B@X.com"),
             change("c@x.com")]
    assert dest.send(SUB, "add", batch).rejected == {}
    assert dest.send(SUB, "remove", [change("b@x.com", "exited")]).rejected == {}
    assert dest.send(SUB, "add", [change("a@x.com", "updated", fields={"plan": "max"})]).rejected == {}
    assert fake_mailchimp.members(fake, LIST) == {"a@x.com", "c@x.com"}
    assert member(fake, "a@x.com")["merge_fields"] == {"FNAME": "Ann", "PLAN": "max"}
    # leaving the segment leaves the audience (and the person's consent) alone
    assert member(fake, "b@x.com")["status"] == "subscribed"


def test_merge_fields_setting_names_the_tags_and_picks_the_fields(fake):
    dest = mailchimp(fake, merge_fields={"first_name": "fname", "plan": "PLAN"})
    dest.send(SUB, "add", [change("a@x.com", fields={"first_name": "Ann", "plan": None, "internal_score": 0.7})])
    assert member(fake, "a@x.com")["merge_fields"] == {"FNAME": "Ann", "PLAN": ""}


def test_existing_members_keep_their_subscription_status(fake):
    fake.audiences[AUDIENCE]["u@x.com"] = {"email_address": "u@x.com", "status": "unsubscribed",
                                           "merge_fields": {}}
    mailchimp(fake).send(SUB, "add", [change("u@x.com", fields={"plan": "pro"})])
    assert member(fake, "u@x.com") == {"email_address": "u@x.com", "status": "unsubscribed",
                                       "merge_fields": {"PLAN": "pro"}}
    assert fake_mailchimp.members(fake, LIST) == {"u@x.com"}


def test_a_batch_at_the_limit_works_and_the_fake_refuses_one_more(fake):
    dest = mailchimp(fake)
    assert dest.batch_size == 500
    emails = [f"p{i}@x.com" for i in range(500)]
    assert dest.send(SUB, "add", [change(e) for e in emails]).rejected == {}
    assert dest.send(SUB, "remove", [change(e, "exited") for e in emails[:250]]).rejected == {}
    assert fake_mailchimp.members(fake, LIST) == set(emails[250:])
    with pytest.raises(Rejected, match="HTTP 400 Invalid Resource.*members: .*at most 500 items, 501 found"):
        dest.send(SUB, "add", [change(f"q{i}@x.com") for i in range(501)])
    assert len(fake.audiences[AUDIENCE]) == 500
    raw = httpx.post(f"{fake.base_url}/3.0/lists/{AUDIENCE}/segments/{SEGMENT}", auth=("x", API_KEY),
                     json={"members_to_remove": [f"p{i}@x.com" for i in range(501)]})
    assert raw.status_code == 400 and raw.headers["Content-Type"] == "application/problem+json"


def test_partial_failures_map_to_batch_indexes_with_the_vendors_reason(fake):
    dest = mailchimp(fake)
    batch = [change("a@x.com"), change("not-an-email"), change(None), change("b@x.com"), change("A@x.com")]
    outcome = dest.send(SUB, "add", batch)
    assert outcome.rejected == {
        1: "not-an-email looks fake or invalid, please enter a real email address. (ERROR_GENERIC)",
        2: "no email for this person"}
    assert fake_mailchimp.members(fake, LIST) == {"a@x.com", "b@x.com"}


def test_segment_refusals_are_rejections_but_removing_strangers_is_a_no_op(fake):
    dest = mailchimp(fake)
    dest.send(SUB, "add", [change("a@x.com")])
    # someone who left the audience between the two calls: the segment call refuses them
    refused = dest._segment(AUDIENCE, SEGMENT, "members_to_add", ["a@x.com", "gone@x.com"])
    assert refused == {"gone@x.com": "Email addresses are not members of this audience"}
    assert dest.send(SUB, "remove", [change("gone@x.com", "exited"), change("a@x.com", "exited")]).rejected == {}
    assert fake_mailchimp.members(fake, LIST) == set()


def test_rate_limit_without_headers_is_retried_with_backoff(fake):
    fake.rate = (2, 0.5)
    dest = mailchimp(fake)
    dest.http.backoff, dest.http.max_backoff = 0.2, 0.5
    for n in range(4):
        assert dest.send(SUB, "add", [change(f"p{n}@x.com")]).rejected == {}
    assert fake_mailchimp.members(fake, LIST) == {f"p{n}@x.com" for n in range(4)}
    limited = [s for s in fake.statuses() if s == 429]
    assert limited and dest.http.stats.retried >= len(limited)
    fake.rate = (0, 60.0)  # every request over the limit: look at the bare answer
    raw = httpx.post(f"{fake.base_url}/3.0/lists/{AUDIENCE}", auth=("x", API_KEY), json={"members": []})
    assert raw.status_code == 429 and raw.json()["title"] == "Too Many Requests"
    assert not any(h.lower().startswith(("x-ratelimit", "ratelimit", "retry-after")) for h in raw.headers)


def test_auth_failure_is_clear_and_does_not_leak_the_key(fake):
    dest = mailchimp(fake, api_key="ffffffffffffffffffffffffffffffff-us6")
    with pytest.raises(AccessDenied) as raised:
        dest.send(SUB, "add", [change("a@x.com")])
    assert "HTTP 401" in str(raised.value) and "ffffffff" not in str(raised.value)
    assert fake.audiences[AUDIENCE] == {}


def test_resending_a_batch_is_harmless(fake):
    dest = mailchimp(fake)
    batch = [change("a@x.com", fields={"plan": "pro"}), change("b@x.com")]
    for _ in range(2):
        assert dest.send(SUB, "add", batch).rejected == {}
    assert fake_mailchimp.members(fake, LIST) == {"a@x.com", "b@x.com"} and len(fake.audiences[AUDIENCE]) == 2
    for _ in range(2):
        assert dest.send(SUB, "remove", batch).rejected == {}
    assert fake_mailchimp.members(fake, LIST) == set()


def test_events_for_audience_members(fake):
    dest = mailchimp(fake)
    dest.send(SUB, "add", [change("a@x.com")])
    flows = Subscription("vip_customers", "mailchimp", LIST, on_enter="event", on_exit="event")
    outcome = dest.send(flows, "event", [change("a@x.com", fields={"plan": "pro", "seats": 3}),
                                         change("a@x.com", "exited"),
                                         change("stranger@x.com")])
    assert outcome.rejected == {2: "HTTP 404 Resource Not Found: The requested resource could not be found."}
    assert [(e["email"], e["name"]) for e in fake.events] == [("a@x.com", "entered_segment"),
                                                              ("a@x.com", "exited_segment")]
    assert fake.events[0]["properties"] == {"segment": "vip_customers", "plan": "pro", "seats": "3"}


def test_data_center_comes_from_the_key_and_base_url_overrides_it():
    dest = destination_for("mailchimp", {"type": "mailchimp", "api_key": "abc-us21"})
    assert dest.http.client.base_url == httpx.URL("https://us21.api.mailchimp.com/3.0/")
    assert dest.http.client.auth is not None
    dest.close()
    with pytest.raises(ValidationError, match="data center") as raised:
        destination_for("mailchimp", {"type": "mailchimp", "api_key": "secretwithoutdc"})
    assert "secretwithoutdc" not in str(raised.value)
    other = destination_for("mailchimp", {"type": "mailchimp", "api_key": "k", "base_url": "http://proxy/3.0"})
    assert other.http.client.base_url == httpx.URL("http://proxy/3.0/")
    other.close()


def test_list_must_name_audience_and_segment(fake):
    with pytest.raises(ValidationError, match="audience_id/segment_id"):
        mailchimp(fake).send(subscription("justanaudience", "s", "mailchimp"), "add", [change("a@x.com")])
    with pytest.raises(NotFound, match="static segment"):
        mailchimp(fake).send(subscription(f"{AUDIENCE}/999", "s", "mailchimp"), "remove", [change("a@x.com")])


def test_faults_are_retried_and_resent_requests_leave_the_state_exact(fake):
    fake.faults = Faults(too_many=0.1, server_error=0.1, drop=0.1, timeout=0.1, timeout_seconds=0.3, seed=2)
    dest = mailchimp(fake, timeout=0.15)
    dest.http.backoff, dest.http.max_backoff, dest.http.max_attempts = 0.01, 0.05, 30
    emails = [f"p{i}@x.com" for i in range(40)]
    for start in range(0, 40, 5):
        assert dest.send(SUB, "add", [change(e) for e in emails[start:start + 5]]).rejected == {}
    assert dest.send(SUB, "remove", [change(e, "exited") for e in emails[:20]]).rejected == {}
    assert fake_mailchimp.members(fake, LIST) == set(emails[20:])
    assert len(fake.audiences[AUDIENCE]) == 40
    assert dest.http.stats.retried > 0


# --- checked against the Marketing API spec 3.0.55 (VENDOR-AUDIT.md, defect 2 and merge fields) -------
def test_new_members_are_created_with_status_as_the_batch_schema_requires(fake):
    assert mailchimp(fake).send(SUB, "add", [change("new@x.com", fields={"plan": "pro"})]).rejected == {}
    assert member(fake, "new@x.com") == {"email_address": "new@x.com", "status": "subscribed",
                                         "merge_fields": {"PLAN": "pro"}}
    mailchimp(fake, new_member_status="pending").send(SUB, "add", [change("optin@x.com")])
    assert member(fake, "optin@x.com")["status"] == "pending"  # Mailchimp sends the opt-in email
    with pytest.raises(ValidationError, match="new_member_status.*not 'cleaned'"):
        mailchimp(fake, new_member_status="cleaned")


def test_the_fake_requires_status_for_new_members_and_keeps_existing_ones_status(fake):
    url, auth = f"{fake.base_url}/3.0/lists/{AUDIENCE}", ("x", API_KEY)
    only_if_new = httpx.post(url, auth=auth, json={"members": [{"email_address": "a@x.com",
                                                                "status_if_new": "subscribed"}]}).json()
    assert only_if_new["error_count"] == 1 and "status" in only_if_new["errors"][0]["error"]
    fake.audiences[AUDIENCE]["u@x.com"] = {"email_address": "u@x.com", "status": "unsubscribed", "merge_fields": {}}
    kept = httpx.post(url, auth=auth, json={"members": [{"email_address": "u@x.com", "status": "subscribed"}],
                                            "update_existing": False}).json()
    assert kept["errors"][0]["error_code"] == "ERROR_CONTACT_EXISTS" and member(fake, "u@x.com")["status"] == "unsubscribed"
    httpx.post(url, auth=auth, json={"members": [{"email_address": "u@x.com", "status": "subscribed"}],
                                     "update_existing": True})
    assert member(fake, "u@x.com")["status"] == "subscribed"  # why the destination never sends true


def test_a_merge_tag_the_audience_lacks_stops_the_sync_naming_the_field(fake):
    dest = mailchimp(fake)
    with pytest.raises(GaveUp, match=r"no merge field LOYALTY_TIER \(from the field `loyalty_tier`\).*"
                                     r"FIRST_NAME, FNAME, LNAME, PLAN.*merge_fields: \{loyalty_tier: TAG\}"):
        dest.send(SUB, "add", [change("a@x.com", fields={"plan": "pro", "loyalty_tier": "gold"})])
    assert not fake.requests_to("POST", rf"/lists/{AUDIENCE}$") and fake.audiences[AUDIENCE] == {}
    mapped = mailchimp(fake, merge_fields={"loyalty_tier": "PLAN"})
    assert mapped.send(SUB, "add", [change("a@x.com", fields={"loyalty_tier": "gold"})]).rejected == {}
    mapped.send(SUB, "add", [change("b@x.com", fields={"loyalty_tier": "silver"})])
    assert member(fake, "a@x.com")["merge_fields"] == {"PLAN": "gold"}
    assert len(fake.requests_to("GET", "/merge-fields")) == 2  # once per destination (a sync) and audience
