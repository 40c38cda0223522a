"""SendPulse destination against the local fake over loopback: address book state, token flow, batch
limit, whole-batch refusals, rate limit, auth failures without secrets, idempotent resends."""
import time

import httpx
import pytest

from fakes import sendpulse as fake_module
from fakes.sendpulse import CLIENT_SECRET, LIST
from helpers.fast_destinations import change, fast, pointed_at, serving, subscription
from segwarehouse.sync.destinations.replies import UnknownList
from segwarehouse.sync.destinations.sendpulse import SendPulse
from segwarehouse.sync.http import GaveUp
from segwarehouse.sync.records import Rejected

SUB = subscription(LIST)


@pytest.fixture
def fake():
    yield from serving(fake_module)


def destination(fake, **overrides) -> SendPulse:
    return fast(pointed_at(fake_module, fake, "sp", **overrides))


def test_adds_removes_and_updates_make_the_address_book_exact(fake):
    dest = destination(fake)
    dest.send(SUB, "add", [change("a@example.com", fields={"plan": "pro"}), change("b@example.com"),
                           change("c@example.com", fields={"age": 41})])
    assert fake_module.members(fake, LIST) == {"a@example.com", "b@example.com", "c@example.com"}
    assert fake.books[LIST]["a@example.com"] == {"plan": "pro"}

    dest.send(SUB, "add", [change("a@example.com", "updated", fields={"plan": "team"})])
    dest.send(SUB, "remove", [change("b@example.com", "exited"), change("nobody@example.com", "exited")])
    assert fake_module.members(fake, LIST) == {"a@example.com", "c@example.com"}
    assert fake.books[LIST]["a@example.com"] == {"plan": "team"}  # re-adding updates variables


def test_fields_are_sent_as_json_safe_variables(fake):
    import datetime as dt
    import decimal
    dest = destination(fake)
    dest.send(SUB, "add", [change("a@example.com", fields={"since": dt.date(2026, 1, 2),
                                                           "ltv": decimal.Decimal("12.50"), "n": None})])
    assert fake.books[LIST]["a@example.com"] == {"since": "2026-01-02", "ltv": 12.5, "n": None}


def test_resending_a_batch_is_harmless(fake):
    dest = destination(fake)
    batch = [change(f"p{i}@example.com", fields={"i": i}) for i in range(5)]
    for _ in range(2):
        assert dest.send(SUB, "add", batch).rejected == {}
    assert len(fake.books[LIST]) == 5
    for _ in range(2):
        assert dest.send(SUB, "remove", batch).rejected == {}
    assert fake_module.members(fake, LIST) == set()


def test_token_is_cached_and_fetched_again_once_after_a_401(fake):
    dest = destination(fake)
    for i in range(3):
        dest.send(SUB, "add", [change(f"p{i}@example.com")])
    assert fake.tokens_issued == 1

    fake.expire_tokens()
    dest.send(SUB, "add", [change("late@example.com")])
    assert fake.tokens_issued == 2
    assert "late@example.com" in fake_module.members(fake, LIST)
    statuses = [status for method, path, status in fake.log if path.startswith("/addressbooks")]
    assert statuses[-2:] == [401, 200]


def test_a_token_refused_again_after_renewal_stops_without_looping(fake):
    dest = destination(fake)
    fake.token_lifetime = -1  # every token is already expired when issued
    with pytest.raises(GaveUp) as raised:
        dest.send(SUB, "add", [change("a@example.com")])
    assert "refused a freshly issued access token" in str(raised.value)
    assert fake.tokens_issued == 2
    assert len(fake.requests_to("POST", r"^/addressbooks/")) == 2


def test_bad_credentials_give_a_clear_error_without_the_secret(fake):
    dest = destination(fake, client_secret="wrong-" + CLIENT_SECRET)
    with pytest.raises(GaveUp) as raised:
        dest.send(SUB, "add", [change("a@example.com")])
    message = str(raised.value)
    assert "could not get an access token" in message and "HTTP 401" in message
    assert "Client authentication failed" in message
    assert CLIENT_SECRET not in message and "wrong-" not in message
    assert fake.tokens_issued == 1 and not fake.requests_to("POST", r"^/addressbooks/")


def test_batch_limit_is_the_vendors_delete_limit(fake):
    assert SendPulse.batch_size == 100
    dest = destination(fake)
    batch = [change(f"p{i}@example.com") for i in range(100)]
    dest.send(SUB, "add", batch)
    dest.send(SUB, "remove", batch)
    assert fake_module.members(fake, LIST) == set()
    # the fake refuses more than 100 the way SendPulse does
    token = httpx.post(f"{fake.base_url}/oauth/access_token", json={
        "grant_type": "client_credentials", "client_id": fake_module.CLIENT_ID,
        "client_secret": CLIENT_SECRET}).json()["access_token"]
    too_many = httpx.request("DELETE", f"{fake.base_url}/addressbooks/{LIST}/emails",
                             json={"emails": [f"p{i}@example.com" for i in range(101)]},
                             headers={"Authorization": f"Bearer {token}"})
    assert too_many.status_code == 400 and "at most 100" in too_many.json()["message"]


def test_fake_accepts_the_sdk_form_encoded_emails(fake):
    token = httpx.post(f"{fake.base_url}/oauth/access_token", data={
        "grant_type": "client_credentials", "client_id": fake_module.CLIENT_ID,
        "client_secret": CLIENT_SECRET}).json()["access_token"]
    response = httpx.post(f"{fake.base_url}/addressbooks/{LIST}/emails", headers={"Authorization": f"Bearer {token}"},
                          data={"emails": '[{"email": "form@example.com", "variables": {"name": "F"}}]'})
    assert response.json() == {"result": True}
    assert fake.books[LIST] == {"form@example.com": {"name": "F"}}


def test_an_invalid_address_refuses_the_whole_batch_so_the_engine_can_split_it(fake):
    dest = destination(fake)
    with pytest.raises(Rejected) as raised:
        dest.send(SUB, "add", [change("good@example.com"), change("bad@nodot")])
    assert "Invalid email: bad@nodot" in raised.value.reason
    assert fake_module.members(fake, LIST) == set()  # nothing half-applied
    # split as the engine would: the good half lands, the bad record is the one refused
    assert dest.send(SUB, "add", [change("good@example.com")]).rejected == {}
    with pytest.raises(Rejected):
        dest.send(SUB, "add", [change("bad@nodot")])
    assert fake_module.members(fake, LIST) == {"good@example.com"}


def test_people_without_an_email_are_rejected_by_index_and_the_rest_sent(fake):
    outcome = destination(fake).send(SUB, "add", [change("a@example.com"), change(None, person_id=7),
                                                  change("b@example.com")])
    assert outcome.rejected == {1: "no email for this person"}
    assert fake_module.members(fake, LIST) == {"a@example.com", "b@example.com"}


def test_unknown_address_book_stops_instead_of_rejecting_everyone(fake):
    with pytest.raises(GaveUp) as raised:
        destination(fake).send(subscription("999"), "add", [change("a@example.com")])
    assert isinstance(raised.value, UnknownList) and "address book '999' does not exist" in str(raised.value)
    with pytest.raises(GaveUp):
        destination(fake).send(subscription("not-a-number"), "add", [change("a@example.com")])


def test_rate_limit_is_honoured(fake):
    fake.rate = (3, 0.2)  # SendPulse sends no Retry-After: the client's backoff waits the window out
    dest = destination(fake)
    dest.http.max_attempts = 200
    start = time.monotonic()
    for i in range(8):
        dest.send(SUB, "add", [change(f"p{i}@example.com")])
    assert len(fake_module.members(fake, LIST)) == 8
    assert 429 in fake.statuses()
    assert time.monotonic() - start >= 0.2  # at least one window had to pass


def test_client_side_rate_is_the_documented_one_unless_the_plan_allows_more():
    assert SendPulse("sp", {"type": "sendpulse"}).rate.requests == 10
    assert SendPulse("sp", {"type": "sendpulse", "requests_per_second": 50}).rate.requests == 50


def test_events_are_not_offered():
    assert "event" not in SendPulse.actions
    with pytest.raises(ValueError, match="does not support 'event'"):
        SendPulse("sp", {"type": "sendpulse"}).send(SUB, "event", [change("a@example.com")])
