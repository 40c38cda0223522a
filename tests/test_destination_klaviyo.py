"""The Klaviyo destination against a local fake of its JSON:API over loopback."""
import time

import httpx
import pytest

from fakes import klaviyo as fake_klaviyo
from fakes.klaviyo import LIST
from fakes.server import Faults
from helpers.fast_destinations import change, pointed_at, serving, subscription
from segwarehouse.sync.destinations.klaviyo import Klaviyo
from segwarehouse.sync.destinations.replies import AccessDenied, NotFound
from segwarehouse.sync.records import Subscription

SUB = subscription(LIST, segment="vip_customers", destination="klaviyo")


@pytest.fixture
def fake():
    yield from serving(fake_klaviyo)


def klaviyo(fake, **overrides):
    return pointed_at(fake_klaviyo, fake, "klaviyo", **overrides)


def profile(fake, email):
    return next(p for p in fake.profiles.values() if p.get("email") == email)


def test_adds_removes_and_updates_make_the_list_exact(fake):
    dest = klaviyo(fake)
    batch = [change("a@x.com", fields={"first_name": "Ann", "plan": "pro"}), change("b@x.com"), change("c@x.com")]
    assert dest.send(SUB, "add", batch).rejected == {}
    assert dest.send(SUB, "remove", [change("b@x.com", "exited")]).rejected == {}
    assert dest.send(SUB, "add", [change("a@x.com", "updated", fields={"plan": "max"})]).rejected == {}
    assert fake_klaviyo.members(fake, LIST) == {"a@x.com", "c@x.com"}
    ann = profile(fake, "a@x.com")
    assert ann["first_name"] == "Ann"                    # a standard profile attribute
    assert ann["properties"] == {"plan": "max"}          # other fields are custom properties
    assert len(fake.profiles) == 3                       # upserts, never duplicates


def test_profile_ids_are_cached_within_a_sync(fake):
    dest = klaviyo(fake)
    dest.send(SUB, "add", [change("a@x.com"), change("b@x.com")])
    dest.send(SUB, "remove", [change("a@x.com", "exited")])
    dest.send(SUB, "add", [change("a@x.com")])
    assert len(fake.requests_to("POST", "/profile-import")) == 2
    assert fake.requests_to("GET", "/profiles") == []   # removals used the cache
    dest.send(SUB, "add", [change("a@x.com", "updated", fields={"plan": "pro"})])  # new fields: upsert again
    assert len(fake.requests_to("POST", "/profile-import")) == 3


def test_removing_people_klaviyo_does_not_know_is_a_no_op(fake):
    dest = klaviyo(fake)
    dest.send(SUB, "add", [change("a@x.com"), change("b@x.com")])
    fresh = klaviyo(fake)  # another sync: nothing cached, ids are looked up without creating anyone
    outcome = fresh.send(SUB, "remove", [change("a@x.com", "exited"), change("ghost@x.com", "exited")])
    assert outcome.rejected == {}
    assert fake_klaviyo.members(fake, LIST) == {"b@x.com"}
    assert len(fake.profiles) == 2
    assert klaviyo(fake).send(SUB, "remove", [change("ghost@x.com", "exited")]).rejected == {}
    deletes = fake.requests_to("DELETE", "/relationships")
    assert deletes == [("DELETE", f"/api/lists/{LIST}/relationships/profiles/", 204)]  # none for the ghost


def test_lookups_follow_the_next_page_link(fake, monkeypatch):
    from segwarehouse.sync.destinations import klaviyo as module
    klaviyo(fake).send(SUB, "add", [change(f"p{i}@x.com") for i in range(5)])
    monkeypatch.setattr(module, "LOOKUP_PAGE", 2)
    assert klaviyo(fake).send(SUB, "remove", [change(f"p{i}@x.com", "exited") for i in range(5)]).rejected == {}
    assert fake_klaviyo.members(fake, LIST) == set()
    assert len(fake.requests_to("GET", "/profiles")) == 3


def test_duplicate_profile_conflict_uses_the_existing_profile(fake):
    dest = klaviyo(fake)
    dest.send(SUB, "add", [change("a@x.com", fields={"external_id": "u1"})])
    dest.send(SUB, "add", [change("b@x.com", fields={"external_id": "u2"})])
    fake.lists[LIST].clear()
    # a@x.com now claims u2, which is b's: Klaviyo refuses the merge with 409 and names a's profile
    updated = change("a@x.com", "updated", fields={"external_id": "u2", "plan": "pro"})
    outcome = klaviyo(fake).send(SUB, "add", [updated])
    assert outcome.rejected == {}
    assert [s for *_, s in fake.requests_to("POST", "/profile-import")][-2:] == [409, 200]
    a = next(pid for pid, p in fake.profiles.items() if p.get("email") == "a@x.com")
    assert fake.lists[LIST] == {a}
    assert fake.profiles[a]["properties"] == {"plan": "pro"}   # the fields still arrive, by profile id
    assert fake.profiles[a]["external_id"] == "u1"


def test_a_batch_at_the_limit_works_and_the_fake_refuses_one_more(fake, monkeypatch):
    monkeypatch.setattr(Klaviyo, "profile_rate", None)  # 1000 upserts at the real rate would take 90 s
    fake.rate = None
    dest = klaviyo(fake)
    assert dest.batch_size == 1000
    emails = [f"p{i}@x.com" for i in range(1000)]
    assert dest.send(SUB, "add", [change(e) for e in emails]).rejected == {}
    assert fake_klaviyo.members(fake, LIST) == set(emails)
    # a fresh sync removes all 1000 in one call after ten lookups of 100
    assert klaviyo(fake).send(SUB, "remove", [change(e, "exited") for e in emails]).rejected == {}
    assert fake_klaviyo.members(fake, LIST) == set()
    assert len(fake.requests_to("GET", "/profiles")) == 10
    ids = [{"type": "profile", "id": pid} for pid in list(fake.profiles)[:1000]]
    ids.append({"type": "profile", "id": ids[0]["id"]})
    raw = httpx.post(f"{fake.base_url}/api/lists/{LIST}/relationships/profiles/", json={"data": ids},
                     headers=dest.headers())
    assert raw.status_code == 400
    assert "at most 1000" in raw.json()["errors"][0]["detail"]


def test_partial_failures_map_to_batch_indexes_with_the_vendors_reason(fake):
    dest = klaviyo(fake)
    batch = [change("a@x.com"), change("not-an-email"), change(None, person_id=7), change("b@x.com")]
    outcome = dest.send(SUB, "add", batch)
    assert set(outcome.rejected) == {1, 2}
    assert outcome.rejected[1] == "HTTP 400 invalid: Invalid email address: not-an-email"
    assert outcome.rejected[2] == "no email for this person"
    assert fake_klaviyo.members(fake, LIST) == {"a@x.com", "b@x.com"}


def test_unknown_list_stops_the_sync_instead_of_rejecting_records(fake):
    dest = klaviyo(fake)
    with pytest.raises(NotFound, match="list .NoSuchList. does not exist"):
        dest.send(subscription("NoSuchList", "s", "klaviyo"), "add", [change("a@x.com")])


def test_rate_limit_honours_retry_after(fake):
    fake.family_rates = {"profiles": ((3, 1.0),)}
    dest = klaviyo(fake)
    ok = httpx.get(f"{fake.base_url}/api/profiles/", params={"filter": 'equals(email,"a@x.com")'},
                   headers=dest.headers())
    assert ok.status_code == 200 and ok.headers["RateLimit-Limit"] == "3"
    assert ok.headers["RateLimit-Remaining"] == "2" and int(ok.headers["RateLimit-Reset"]) <= 1
    start = time.monotonic()
    assert dest.send(SUB, "add", [change(f"p{i}@x.com") for i in range(6)]).rejected == {}
    assert len(fake_klaviyo.members(fake, LIST)) == 6
    assert 429 in fake.statuses()
    assert time.monotonic() - start >= 1.0  # seven requests at three per second span at least two windows
    limited = httpx.Response(429, headers={"Retry-After": "2"})
    assert dest.retry_after(limited) == 2.0


def test_the_fake_insists_on_the_revision_header(fake):
    headers = {k: v for k, v in klaviyo(fake).headers().items() if k != "revision"}
    raw = httpx.get(f"{fake.base_url}/api/profiles/", params={"filter": 'equals(email,"a@x.com")'},
                    headers=headers)
    assert raw.status_code == 400 and raw.json()["errors"][0]["source"] == {"parameter": "revision"}


def test_auth_failure_is_clear_and_does_not_leak_the_key(fake):
    dest = klaviyo(fake, api_key="pk_wrong_secret_987")
    with pytest.raises(AccessDenied) as raised:
        dest.send(SUB, "add", [change("a@x.com")])
    assert "HTTP 401" in str(raised.value) and "pk_wrong_secret_987" not in str(raised.value)
    assert fake.profiles == {}


def test_resending_a_batch_is_harmless(fake):
    dest = klaviyo(fake)
    batch = [change("a@x.com", fields={"plan": "pro"}), change("b@x.com")]
    for _ in range(2):
        assert dest.send(SUB, "add", batch).rejected == {}
    assert fake_klaviyo.members(fake, LIST) == {"a@x.com", "b@x.com"} and len(fake.profiles) == 2
    for _ in range(2):
        assert klaviyo(fake).send(SUB, "remove", batch).rejected == {}
    assert fake_klaviyo.members(fake, LIST) == set()


def test_events_start_flows_and_a_resend_keeps_one_event(fake):
    dest = klaviyo(fake)
    flows = Subscription("vip_customers", "klaviyo", LIST, on_enter="event", on_exit="event")
    batch = [change("a@x.com", fields={"plan": "pro"}), change("b@x.com", "exited"), change("bad")]
    for _ in range(2):
        outcome = dest.send(flows, "event", batch)
        assert set(outcome.rejected) == {2} and "Invalid email" in outcome.rejected[2]
    names = sorted((e["profile"]["data"]["attributes"]["email"], e["metric"]["data"]["attributes"]["name"])
                   for e in fake.events.values())
    assert names == [("a@x.com", "Entered segment"), ("b@x.com", "Exited segment")]
    first = next(e for e in fake.events.values() if e["profile"]["data"]["attributes"]["email"] == "a@x.com")
    assert first["properties"] == {"segment": "vip_customers", "plan": "pro"}
    assert first["time"] == "2026-11-23T03:00:00+00:00"
    assert fake_klaviyo.members(fake, LIST) == set()


def test_key_identifier_is_the_external_id(fake):
    dest = klaviyo(fake, identifier="key")
    dest.send(SUB, "add", [change("u-1"), change("u-2")])
    assert fake_klaviyo.members(fake, LIST) == {"u-1", "u-2"}
    assert {p["external_id"] for p in fake.profiles.values()} == {"u-1", "u-2"}


def test_faults_are_retried_and_resent_requests_leave_the_state_exact(fake):
    fake.faults = Faults(too_many=0.03, server_error=0.1, drop=0.05, timeout=0.05, timeout_seconds=0.3, seed=5)
    dest = klaviyo(fake, timeout=0.15, max_attempts=30, backoff=0.01)
    assert (dest.profiles.max_attempts, dest.profiles.backoff) == (30, 0.01)  # the retry settings apply
    dest.http.backoff, dest.http.max_attempts = 0.01, 30
    emails = [f"p{i}@x.com" for i in range(30)]
    for start in range(0, 30, 10):
        assert dest.send(SUB, "add", [change(e) for e in emails[start:start + 10]]).rejected == {}
    assert dest.send(SUB, "remove", [change(e, "exited") for e in emails[:10]]).rejected == {}
    assert fake_klaviyo.members(fake, LIST) == set(emails[10:])
    assert len(fake.profiles) == 30
    assert dest.profiles.stats.retried > 0


def test_batches_sent_from_several_threads_share_clients_and_cache(fake):
    from concurrent.futures import ThreadPoolExecutor

    dest = klaviyo(fake)
    batches = [[change(f"p{b}-{i}@x.com") for i in range(10)] for b in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda batch: dest.send(SUB, "add", batch), batches))
    assert all(o.rejected == {} for o in outcomes)
    assert fake_klaviyo.members(fake, LIST) == {c.identifier for batch in batches for c in batch}
    assert len(dest.profile_ids) == 80


# --- bulk profile import jobs ------------------------------------------------------------------------
def test_large_adds_go_through_a_bulk_import_job_and_its_failures_become_rejections(fake):
    dest = klaviyo(fake)
    assert dest.batch_size_for("add") == 10_000 and dest.batch_size_for("remove") == 1000
    emails = [f"p{i}@x.com" for i in range(150)]
    batch = [change(e, fields={"first_name": "Ann", "plan": "gold"}) for e in emails]
    batch[7] = change("not-an-email")
    outcome = dest.send(SUB, "add", batch)
    assert outcome.rejected == {7: "import error invalid: Invalid email address: not-an-email"}
    assert fake_klaviyo.members(fake, LIST) == set(emails) - {emails[7]}
    assert fake.requests_to("POST", "/profile-import") == []  # no per-profile upserts
    assert len(fake.requests_to("POST", "/profile-bulk-import-jobs")) == 1
    polls = fake.requests_to("GET", r"/profile-bulk-import-jobs/[^/]+/?$")
    assert len(polls) == fake_klaviyo.POLLS_TO_FINISH  # polled until complete
    assert len(fake.requests_to("GET", "/import-errors")) == 1
    assert profile(fake, "p3@x.com")["properties"] == {"plan": "gold"}
    assert profile(fake, "p3@x.com")["first_name"] == "Ann"
    # small batches keep the per-profile upsert, as Klaviyo asks
    dest.send(SUB, "add", [change("small@x.com")])
    assert len(fake.requests_to("POST", "/profile-import")) == 1


def test_the_fake_holds_the_bulk_job_limits(fake):
    headers = klaviyo(fake).headers()

    def job(profiles, lists=(LIST,)):
        body = {"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": profiles}},
                         "relationships": {"lists": {"data": [{"type": "list", "id": i} for i in lists]}}}}
        return httpx.post(f"{fake.base_url}/api/profile-bulk-import-jobs/", json=body, headers=headers, timeout=30)

    one = {"type": "profile", "attributes": {"email": "a@x.com"}}
    assert job([one] * 10_001).status_code == 400
    assert job([{"type": "profile", "attributes": {"email": "b@x.com", "properties": {"x": "y" * 110_000}}}]
               ).status_code == 400
    big = [{"type": "profile", "attributes": {"email": f"{i}@x.com", "properties": {"x": "y" * 90_000}}}
           for i in range(60)]
    assert job(big).status_code == 413
    assert job([one], lists=("NoSuchList",)).status_code == 404
    created = job([one])
    assert created.status_code == 202 and created.json()["data"]["attributes"]["status"] == "queued"
    job_id = created.json()["data"]["id"]
    states = [httpx.get(f"{fake.base_url}/api/profile-bulk-import-jobs/{job_id}/", headers=headers).json()
              ["data"]["attributes"]["status"] for _ in range(2)]
    assert states == ["processing", "complete"]
    bad_page = httpx.get(f"{fake.base_url}/api/profile-bulk-import-jobs/{job_id}/import-errors/",
                         params={"page[size]": "101"}, headers=headers)
    assert bad_page.status_code == 400


def test_a_bulk_job_for_an_unknown_list_stops_the_sync(fake):
    with pytest.raises(NotFound, match="list 'NoSuchList' does not exist"):
        klaviyo(fake).send(subscription("NoSuchList", "s", "klaviyo"), "add",
                           [change(f"p{i}@x.com") for i in range(100)])
    assert len(fake.requests_to("POST", "/profile-bulk-import-jobs")) == 1


def test_list_endpoints_are_held_to_10_per_second_and_150_per_minute(fake):
    """The fake refuses the 11th list call in a second and the 151st in a minute (x-klaviyo-ratelimit);
    the client's bucket for them never gets there."""
    headers = klaviyo(fake).headers()
    fake.family_rates = {"lists": ((10, 1.0), (12, 60.0))}  # the steady window scaled down for test time
    url = f"{fake.base_url}/api/lists/{LIST}/relationships/profiles/"
    statuses = [httpx.post(url, json={"data": []}, headers=headers).status_code for _ in range(11)]
    assert statuses[:10] == [204] * 10 and statuses[10] == 429
    time.sleep(1.05)
    statuses = [httpx.post(url, json={"data": []}, headers=headers).status_code for _ in range(3)]
    assert statuses == [204, 204, 429]  # the minute's window is full although the second's is not
    bucket = Klaviyo.rate
    burst, refill = bucket.requests, bucket.requests / bucket.per_seconds
    assert burst + refill <= 10 and burst + 60 * refill <= 150
