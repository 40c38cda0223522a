"""Sender.net destination against the local fake over loopback: subscribers created or updated before
group joins, per-email buckets mapped to rejections and acknowledgements, batch limit, rate-limit
headers, auth failures without secrets, idempotent resends."""
import datetime as dt
import time

import httpx
import pytest

from fakes import sender as fake_module
from fakes.sender import API_TOKEN, LIST
from helpers.fast_destinations import change, fast, pointed_at, serving, subscription
from segwarehouse.sync.destinations.replies import UnknownList
from segwarehouse.sync.destinations.sender import INVALID_EMAIL, Sender, seconds_until
from segwarehouse.sync.http import GaveUp
from segwarehouse.sync.records import Rejected

SUB = subscription(LIST)


@pytest.fixture
def fake():
    yield from serving(fake_module)


def destination(fake, **overrides) -> Sender:
    return fast(pointed_at(fake_module, fake, "snd", **overrides))


def calls(fake, method, pattern):
    return len(fake.requests_to(method, pattern))


def test_new_people_are_created_into_the_group(fake):
    outcome = destination(fake).send(SUB, "add", [change("a@example.com"), change("b@example.com")])
    assert outcome.rejected == {}
    assert fake_module.members(fake, LIST) == {"a@example.com", "b@example.com"}
    assert calls(fake, "POST", r"^/v2/subscribers/groups/") == 1
    assert calls(fake, "POST", r"^/v2/subscribers$") == 2  # the two reported as non_existing_subscribers


@pytest.mark.parametrize("exists_status", [409, 422])
def test_fields_are_written_before_the_join_creating_or_updating_the_subscriber(fake, exists_status):
    fake.exists_status = exists_status
    dest = destination(fake)
    dest.send(SUB, "add", [change("a@example.com", fields={"plan": "pro", "firstname": "Ada"})])
    assert fake.subscribers["a@example.com"]["fields"] == {"{$plan}": "pro"}
    assert fake.subscribers["a@example.com"]["firstname"] == "Ada"

    dest.send(SUB, "add", [change("a@example.com", "updated", fields={"plan": "team",
                                                                      "renews": dt.date(2027, 1, 1)})])
    assert fake.subscribers["a@example.com"]["fields"] == {"{$plan}": "team", "{$renews}": "2027-01-01"}
    assert calls(fake, "PATCH", r"^/v2/subscribers/a@example.com$") == 1
    assert fake_module.members(fake, LIST) == {"a@example.com"}


def test_emails_with_plus_signs_reach_the_right_subscriber(fake):
    dest = destination(fake)
    dest.send(SUB, "add", [change("a+tag@example.com", fields={"n": 1})])
    dest.send(SUB, "add", [change("a+tag@example.com", "updated", fields={"n": 2})])
    assert fake.subscribers["a+tag@example.com"]["fields"] == {"{$n}": 2}


def test_removal_acknowledges_people_already_out_of_the_group(fake):
    dest = destination(fake)
    dest.send(SUB, "add", [change("a@example.com"), change("b@example.com")])
    outcome = dest.send(SUB, "remove", [change("a@example.com", "exited"), change("never@example.com", "exited"),
                                        change("a@example.com", "exited")])
    assert outcome.rejected == {}
    assert fake_module.members(fake, LIST) == {"b@example.com"}
    assert "a@example.com" in fake.subscribers  # left the group, still a subscriber


def test_invalid_emails_are_rejected_by_index_and_the_rest_applied(fake):
    dest = destination(fake)
    batch = [change("a@example.com"), change("bad@nodot"), change(None, person_id=9),
             change("c@example.com", fields={"plan": "pro"}), change("worse@", fields={"plan": "x"})]
    outcome = dest.send(SUB, "add", batch)
    assert outcome.rejected[1] == INVALID_EMAIL
    assert outcome.rejected[2] == "no email for this person"
    assert "valid email" in outcome.rejected[4] and "HTTP 422" in outcome.rejected[4]
    assert set(outcome.rejected) == {1, 2, 4}
    assert fake_module.members(fake, LIST) == {"a@example.com", "c@example.com"}

    outcome = dest.send(SUB, "remove", [change("a@example.com", "exited"), change("bad@nodot", "exited")])
    assert outcome.rejected == {1: INVALID_EMAIL}
    assert fake_module.members(fake, LIST) == {"c@example.com"}


def test_resending_a_batch_is_harmless_and_starts_no_automation_twice(fake):
    dest = destination(fake)
    batch = [change(f"p{i}@example.com") for i in range(4)]
    for _ in range(3):
        assert dest.send(SUB, "add", batch).rejected == {}
    assert fake_module.members(fake, LIST) == {f"p{i}@example.com" for i in range(4)}
    assert calls(fake, "POST", r"^/v2/subscribers$") == 4  # created once; later only already-in-group
    assert sorted(fake.automations_started) == sorted(f"p{i}@example.com" for i in range(4))
    for _ in range(2):
        assert dest.send(SUB, "remove", batch).rejected == {}
    assert fake_module.members(fake, LIST) == set()


def test_trigger_automation_can_be_turned_off(fake):
    dest = destination(fake, trigger_automation=False)
    dest.send(SUB, "add", [change("new@example.com"), change("old@example.com", fields={"x": 1})])
    assert fake_module.members(fake, LIST) == {"new@example.com", "old@example.com"}
    assert fake.automations_started == []


def test_batch_limit(fake):
    assert Sender.batch_size == 100
    dest = destination(fake)
    batch = [change(f"p{i}@example.com") for i in range(100)]
    assert dest.send(SUB, "add", batch).rejected == {}
    assert len(fake_module.members(fake, LIST)) == 100
    # one more than the fake takes: the vendor-style 422 refuses the batch as a whole
    with pytest.raises(Rejected) as raised:
        dest.send(SUB, "remove", batch + [change("p100@example.com")])
    assert "may not have more than 100" in raised.value.reason
    assert len(fake_module.members(fake, LIST)) == 100


def test_rate_limit_is_honoured_with_the_vendor_headers(fake):
    fake.rate = (3, 0.5)
    dest = destination(fake)
    start = time.monotonic()
    for i in range(7):
        dest.send(SUB, "remove", [change(f"p{i}@example.com", "exited")])
    assert calls(fake, "DELETE", r"^/v2/subscribers/groups/") >= 7
    assert 429 in fake.statuses()
    assert time.monotonic() - start >= 0.5
    response = httpx.get(f"{fake.base_url}/v2/nothing", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.headers["X-RateLimit-Limit"] == "3" and "X-RateLimit-Reset" in response.headers


def test_retry_after_reads_retry_after_or_the_reset_header():
    dest = Sender("snd", {"type": "sender"})
    assert dest.retry_after(httpx.Response(429, headers={"Retry-After": "30"})) == 30
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    wait = dest.retry_after(httpx.Response(429, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": soon}))
    assert 15 <= wait <= 21
    assert dest.retry_after(httpx.Response(500, headers={"X-RateLimit-Remaining": "5"})) is None
    assert 9 <= seconds_until(str(time.time() + 10)) <= 10
    assert seconds_until("12") == 12 and seconds_until("soon") is None


def test_wrong_token_gives_a_clear_error_without_the_token(fake):
    dest = destination(fake, api_token="wrong-token-123")
    for batch in ([change("a@example.com")], [change("a@example.com", fields={"x": 1})]):
        with pytest.raises(GaveUp) as raised:
            dest.send(SUB, "add", batch)
        message = str(raised.value)
        assert "refused the API token" in message and "Unauthenticated." in message
        assert "wrong-token-123" not in message and API_TOKEN not in message


def test_unknown_group_stops_instead_of_rejecting_everyone(fake):
    with pytest.raises(UnknownList, match="group 'nope' does not exist"):
        destination(fake).send(subscription("nope"), "add", [change("a@example.com")])


def test_events_are_not_offered():
    assert "event" not in Sender.actions
    with pytest.raises(ValueError, match="does not support 'event'"):
        Sender("snd", {"type": "sender"}).send(SUB, "event", [change("a@example.com")])
