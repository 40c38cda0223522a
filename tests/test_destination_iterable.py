"""Iterable destination against the local fake over loopback: list state by email and by userId,
failedUpdates mapped to batch indexes, batch limit, rate limit, auth failures without secrets,
idempotent resends, and events that start flows once even when resent."""
import datetime as dt
import time

import httpx
import pytest

from fakes import iterable as fake_module
from fakes.iterable import API_KEY, LIST
from helpers.fast_destinations import AT, change, fast, pointed_at, serving, subscription
from segwarehouse.sync.destinations.iterable import Iterable
from segwarehouse.sync.destinations.replies import UnknownList
from segwarehouse.sync.http import GaveUp
from segwarehouse.sync.records import Rejected

SUB = subscription(LIST)


@pytest.fixture
def fake():
    yield from serving(fake_module)


def destination(fake, **overrides) -> Iterable:
    return fast(pointed_at(fake_module, fake, "it", **overrides))


def test_subscribe_and_unsubscribe_make_the_list_exact(fake):
    dest = destination(fake)
    dest.send(SUB, "add", [change("a@example.com", fields={"plan": "pro"}), change("B@Example.com"),
                           change("c@example.com")])
    assert fake_module.members(fake, LIST) == {"a@example.com", "b@example.com", "c@example.com"}
    dest.send(SUB, "add", [change("a@example.com", "updated", fields={"plan": "team", "since": dt.date(2026, 5, 1)})])
    assert fake.users["a@example.com"] == {"plan": "team", "since": "2026-05-01"}

    outcome = dest.send(SUB, "remove", [change("c@example.com", "exited"), change("stranger@example.com", "exited")])
    assert outcome.rejected == {}  # someone unknown to Iterable is already out of the list
    assert fake_module.members(fake, LIST) == {"a@example.com", "b@example.com"}


def test_unsubscribing_someone_not_in_the_list_is_a_no_op(fake):
    dest = destination(fake)
    dest.send(SUB, "add", [change("a@example.com")])
    fake.lists[int(LIST)].clear()
    assert dest.send(SUB, "remove", [change("a@example.com", "exited")]).rejected == {}
    assert fake_module.members(fake, LIST) == set()


def test_identifier_other_than_email_is_sent_as_user_id(fake):
    dest = destination(fake, identifier="key")
    dest.send(SUB, "add", [change("u-1", fields={"plan": "pro"}), change("u-2")])
    assert fake_module.members(fake, LIST) == {"u-1", "u-2"}
    assert fake.users["u-1"] == {"plan": "pro"}
    dest.send(SUB, "remove", [change("u-1", "exited")])
    assert fake_module.members(fake, LIST) == {"u-2"}


def test_failed_updates_map_to_the_right_indexes_and_reasons(fake):
    fake.forgotten.add("gone@example.com")
    batch = [change("a@example.com"), change("bad@nodot"), change("gone@example.com"), change(None, person_id=3),
             change("d@example.com")]
    outcome = destination(fake).send(SUB, "add", batch)
    assert outcome.rejected == {1: "invalid email (Iterable invalidEmails)",
                                2: "user was forgotten (GDPR request) (Iterable forgottenEmails)",
                                3: "no email for this person"}
    assert fake_module.members(fake, LIST) == {"a@example.com", "d@example.com"}

    outcome = destination(fake).send(SUB, "remove", [change("bad@nodot", "exited"), change("a@example.com", "exited")])
    assert outcome.rejected == {0: "invalid email (Iterable invalidEmails)"}
    assert fake_module.members(fake, LIST) == {"d@example.com"}


def test_failures_counted_but_not_named_refuse_the_batch_so_it_is_split(fake):
    fake.name_failures = False
    dest = destination(fake)
    with pytest.raises(Rejected, match="1 failure"):
        dest.send(SUB, "add", [change("a@example.com"), change("bad@nodot")])
    assert dest.send(SUB, "add", [change("a@example.com")]).rejected == {}
    with pytest.raises(Rejected):
        dest.send(SUB, "add", [change("bad@nodot")])


def test_resending_a_batch_is_harmless(fake):
    dest = destination(fake)
    batch = [change(f"p{i}@example.com", fields={"i": i}) for i in range(5)]
    for _ in range(2):
        assert dest.send(SUB, "add", batch).rejected == {}
    assert fake_module.members(fake, LIST) == {f"p{i}@example.com" for i in range(5)}
    for _ in range(2):
        assert dest.send(SUB, "remove", batch).rejected == {}
    assert fake_module.members(fake, LIST) == set()


def test_batch_limit(fake):
    assert Iterable.batch_size == 1000
    dest = destination(fake)
    batch = [change(f"p{i}@example.com") for i in range(1000)]
    assert dest.send(SUB, "add", batch).rejected == {}
    assert len(fake_module.members(fake, LIST)) == 1000
    with pytest.raises(Rejected) as raised:  # one more than the fake takes: Iterable-style 400 BadParams
        dest.send(SUB, "remove", batch + [change("p1000@example.com")])
    assert "At most 1000" in raised.value.reason and "BadParams" in raised.value.reason
    assert len(fake_module.members(fake, LIST)) == 1000


def test_rate_limit_is_honoured(fake):
    fake.rate = (3, 0.2)  # Iterable's 429 carries no Retry-After: the client's backoff waits it out
    dest = destination(fake)
    dest.http.max_attempts = 200
    start = time.monotonic()
    for i in range(7):
        dest.send(SUB, "add", [change(f"p{i}@example.com")])
    assert len(fake_module.members(fake, LIST)) == 7
    assert 429 in fake.statuses()
    assert time.monotonic() - start >= 0.2


def test_wrong_api_key_gives_a_clear_error_without_the_key(fake):
    for action in ("add", "event"):
        with pytest.raises(GaveUp) as raised:
            destination(fake, api_key="wrong-key-456").send(SUB, action, [change("a@example.com")])
        message = str(raised.value)
        assert "refused the API key" in message and "Invalid API key" in message
        assert "wrong-key-456" not in message and API_KEY not in message


def test_unknown_or_malformed_list_stops_instead_of_rejecting_everyone(fake):
    # Iterable answers an unknown list with a 400 (its list calls document 200/400/401 only)
    for action, kind in (("add", "entered"), ("remove", "exited")):
        with pytest.raises(UnknownList, match="list '999' does not exist"):
            destination(fake).send(subscription("999"), action, [change("a@example.com", kind)])
    assert [status for _, path, status in fake.log if path.startswith("/api/lists/")] == [400, 400]
    # any other 400 is the batch's: split and written off, not a stop
    assert not Iterable(name="it", settings={"api_key": "k"}).unknown_list(
        httpx.Response(400, json={"msg": "Invalid email: x", "code": "InvalidEmailAddressError"}))
    with pytest.raises(GaveUp, match="must be an Iterable list id"):
        destination(fake).send(subscription("vip-list"), "add", [change("a@example.com")])


def test_events_start_flows_once_even_when_resent(fake):
    dest = destination(fake)
    batch = [change("a@example.com", fields={"plan": "pro"}), change("b@example.com"), change("bad@nodot")]
    for _ in range(2):
        outcome = dest.send(SUB, "event", batch)
        assert set(outcome.rejected) == {2} and "Invalid email" in outcome.rejected[2]
    assert len(fake.events) == 2
    event = next(e for e in fake.events.values() if e["user"] == "a@example.com")
    assert event["eventName"] == "Entered segment"
    assert event["createdAt"] == int(AT.replace(tzinfo=dt.timezone.utc).timestamp())
    assert event["dataFields"] == {"segment": "vip", "change": "entered", "split": None, "plan": "pro"}

    dest.send(SUB, "event", [change("a@example.com", "exited", run_id="run-2")])
    assert sorted(e["eventName"] for e in fake.events.values()) == ["Entered segment", "Entered segment",
                                                                    "Exited segment"]
    assert fake_module.members(fake, LIST) == set()  # events do not touch list membership


def test_events_have_their_own_rate_far_above_the_list_calls():
    """events/track allows about 2,000 requests/s per project (Iterable docs); the list calls keep 10/s.
    The fake holds both windows: 200 events must not queue behind the list calls' pace (20 s)."""
    with fake_module.FakeIterable() as fake:  # with its rate windows
        dest = pointed_at(fake_module, fake, "it", requests_per_second=10)
        start = time.monotonic()
        outcome = dest.send(SUB, "event", [change(f"p{i}@example.com") for i in range(200)])
        elapsed = time.monotonic() - start
        assert outcome.rejected == {} and len(fake.events) == 200
        assert 429 not in fake.statuses()
        assert elapsed < 5, elapsed
        assert dest.http.bucket.rate == 10  # the list calls' bucket is untouched
