"""The Braze destination against a local fake of POST /users/track over loopback."""
import datetime as dt
import os
import subprocess
import sys
import time

import httpx
import pytest

from fakes import braze as fake_braze
from fakes.server import Faults
from helpers.fast_destinations import change, pointed_at, serving, subscription
from segwarehouse.errors import ValidationError
from segwarehouse import Project
from segwarehouse.sync.destinations import destination_for
from segwarehouse.sync.destinations.replies import AccessDenied
from segwarehouse.sync.records import Subscription

SUB = subscription("vip", segment="vip_customers", destination="braze")
MEMBERSHIP = fake_braze.MEMBERSHIP


@pytest.fixture
def fake():
    yield from serving(fake_braze)


def braze(fake, **overrides):
    return pointed_at(fake_braze, fake, "braze", **overrides)


def test_adds_removes_and_updates_make_the_membership_array_exact(fake):
    dest = braze(fake)
    assert dest.send(SUB, "add", [change("u1", fields={"plan": "pro"}), change("u2"), change("u3")]).rejected == {}
    assert dest.send(SUB, "remove", [change("u2", "exited")]).rejected == {}
    assert dest.send(SUB, "add", [change("u1", "updated", fields={"plan": "max", "seats": 3})]).rejected == {}
    assert fake_braze.members(fake, "vip") == {"u1", "u3"}
    assert fake.users[("external_id", "u1")] == {"plan": "max", "seats": 3, "segwarehouse_segments": ["vip"]}
    # another segment's value in the same array is left alone
    other = subscription("churn", segment="churn_risk", destination="braze")
    dest.send(other, "add", [change("u1")])
    dest.send(SUB, "remove", [change("u1", "exited")])
    assert fake.users[("external_id", "u1")]["segwarehouse_segments"] == ["churn"]


def test_warehouse_keys_are_sent_as_string_external_ids(fake):
    dest = braze(fake)
    assert dest.send(SUB, "add", [change(42), change(7)]).rejected == {}
    assert fake_braze.members(fake, "vip") == {"42", "7"}


def test_fields_become_json_and_cannot_overwrite_the_identifier(fake):
    dest = braze(fake)
    dest.send(SUB, "add", [change("u1", fields={"external_id": "other", "signed_up": dt.date(2026, 1, 2)})])
    assert fake.users[("external_id", "u1")]["signed_up"] == "2026-01-02"
    assert ("external_id", "other") not in fake.users


def test_a_batch_at_the_limit_works_and_the_fake_refuses_one_more(fake):
    dest = braze(fake)
    assert dest.batch_size == 75
    assert dest.send(SUB, "add", [change(f"u{i}") for i in range(75)]).rejected == {}
    assert len(fake_braze.members(fake, "vip")) == 75
    raw = httpx.post(f"{fake.base_url}/users/track", headers={"Authorization": f"Bearer {fake_braze.API_KEY}"},
                     json={"attributes": [{"external_id": f"x{i}"} for i in range(76)]})
    assert raw.status_code == 400 and "Too many objects: 76" in raw.json()["message"]
    assert len(fake_braze.members(fake, "vip")) == 75


def test_partial_failures_map_to_batch_indexes_with_the_vendors_reason(fake):
    dest = braze(fake, identifier="email")
    batch = [change("a@example.com"), change("not-an-email"), change(None), change("b@example.com"),
             change("also bad@example.com")]
    outcome = dest.send(SUB, "add", batch)
    assert set(outcome.rejected) == {1, 2, 4}
    assert "not a valid email" in outcome.rejected[1] and "not-an-email" in outcome.rejected[1]
    assert outcome.rejected[2] == "no email for this person"  # never sent: nothing to identify it by
    assert fake_braze.members(fake, "vip") == {"a@example.com", "b@example.com"}


def test_rate_limit_waits_for_the_vendors_reset_header(fake):
    fake.rate = (3, 1.0)
    dest = braze(fake)
    start = time.monotonic()
    for n in range(7):
        assert dest.send(SUB, "add", [change(f"u{n}")]).rejected == {}
    assert fake_braze.members(fake, "vip") == {f"u{n}" for n in range(7)}
    assert 429 in fake.statuses()
    assert time.monotonic() - start >= 1.0  # seven requests at three per second span two windows


def test_retry_after_reads_epoch_reset_on_429_only():
    dest = destination_for("braze", {"type": "braze", "api_key": "k", "instance": "iad-01"})
    assert dest.http.client.base_url == httpx.URL("https://rest.iad-01.braze.com")
    reset = str(int(time.time()) + 5)
    limited = httpx.Response(429, headers={"X-RateLimit-Reset": reset})
    assert 3.5 < dest.retry_after(limited) <= 5.0
    assert dest.retry_after(httpx.Response(500, headers={"X-RateLimit-Reset": reset})) is None
    # a local clock ahead of or behind Braze's neither spins nor stalls
    assert dest.retry_after(httpx.Response(429, headers={"X-RateLimit-Reset": str(int(time.time()) - 30)})) == 0.5
    assert dest.retry_after(httpx.Response(429, headers={"X-RateLimit-Reset": str(int(time.time()) + 3600)})) == 60
    dest.close()


def test_auth_failure_is_clear_and_does_not_leak_the_key(fake):
    dest = braze(fake, api_key="wrong-secret-key-123")
    with pytest.raises(AccessDenied) as raised:
        dest.send(SUB, "add", [change("u1")])
    assert "HTTP 401" in str(raised.value) and "api_key" in str(raised.value)
    assert "wrong-secret-key-123" not in str(raised.value)
    assert fake.users == {}


def test_resending_a_batch_is_harmless(fake):
    dest = braze(fake)
    batch = [change("u1"), change("u2")]
    dest.send(SUB, "add", batch)
    dest.send(SUB, "add", batch)
    assert fake.users[("external_id", "u1")]["segwarehouse_segments"] == ["vip"]
    dest.send(SUB, "remove", batch)
    dest.send(SUB, "remove", batch)
    assert fake_braze.members(fake, "vip") == set()


def test_events_for_entering_and_exiting(fake):
    dest = braze(fake)
    flows = Subscription(segment="vip_customers", destination="braze", list="vip", on_enter="event",
                         on_exit="event")
    fake.users[("external_id", "u2")] = {}  # exits are sent for people Braze knows only (update_existing_only)
    outcome = dest.send(flows, "event", [change("u1", fields={"plan": "pro"}), change("u2", "exited"), change("")])
    assert outcome.rejected == {2: "no key for this person"}
    assert [(e["external_id"], e["name"]) for e in fake.events] == [("u1", "Entered segment"),
                                                                     ("u2", "Exited segment")]
    assert fake.events[0]["properties"] == {"segment": "vip_customers", "list": "vip", "plan": "pro"}
    assert fake.events[0]["time"] == "2026-11-23T03:00:00+00:00"
    assert fake_braze.members(fake, "vip") == set()  # events do not touch the membership array


def test_instance_or_base_url_is_required():
    with pytest.raises(ValidationError, match="instance"):
        destination_for("braze", {"type": "braze", "api_key": "k"})


def test_faults_are_retried_and_resent_requests_leave_the_state_exact(fake):
    fake.faults = Faults(server_error=0.15, drop=0.1, timeout=0.1, timeout_seconds=0.3, seed=1)
    dest = braze(fake, timeout=0.15)
    dest.http.backoff, dest.http.max_backoff, dest.http.max_attempts = 0.01, 0.05, 30
    for n in range(0, 40, 4):
        assert dest.send(SUB, "add", [change(f"u{i}") for i in range(n, n + 4)]).rejected == {}
    assert dest.send(SUB, "remove", [change(f"u{i}", "exited") for i in range(20)]).rejected == {}
    assert fake_braze.members(fake, "vip") == {f"u{i}" for i in range(20, 40)}
    assert all(user["segwarehouse_segments"] in ([], ["vip"]) for user in fake.users.values())
    assert dest.http.stats.retried > 0


# --- checked against braze-inc/braze-docs (VENDOR-AUDIT.md, defects 3 and 7) ------------------------
def test_removals_and_exit_events_never_create_profiles(fake):
    dest = braze(fake)
    dest.send(SUB, "add", [change("u1")])
    assert dest.send(SUB, "remove", [change("u1", "exited"), change("stranger", "exited")]).rejected == {}
    assert set(fake.users) == {("external_id", "u1")} and fake_braze.members(fake, "vip") == set()
    flows = Subscription("vip", "braze", "vip", on_enter="event", on_exit="event")
    dest.send(flows, "event", [change("ghost", "exited")])
    assert ("external_id", "ghost") not in fake.users and fake.events == []
    # the fake does create a profile for an update without the flag, as Braze does by default
    httpx.post(f"{fake.base_url}/users/track", headers={"Authorization": f"Bearer {fake_braze.API_KEY}"},
               json={"attributes": [{"external_id": "made", MEMBERSHIP: {"remove": ["vip"]}}]})
    assert ("external_id", "made") in fake.users


def test_a_50_object_account_takes_batch_size_50_and_a_refusal_lowers_the_size_for_the_rest():
    with fake_braze.FakeBraze(max_objects=50) as small:
        assert braze(small, batch_size=50).send(SUB, "add", [change(f"a{i}") for i in range(50)]).rejected == {}
        assert small.statuses() == [201]
        dest = braze(small)
        assert dest.batch_size == 75
        assert dest.send(SUB, "add", [change(f"b{i}") for i in range(75)]).rejected == {}
        assert small.statuses()[1:] == [400, 201, 201] and dest.batch_size == 50
        dest.send(SUB, "add", [change(f"c{i}") for i in range(75)])
        assert small.statuses()[4:] == [201, 201]  # no second refusal: 50 at a time from now on
        assert len(fake_braze.members(small, "vip")) == 200


def test_the_fake_truncates_arrays_beyond_the_limit_and_validate_warns_before_that(fake, tmp_path):
    dest = braze(fake)
    for n in range(26):
        dest.send(subscription(f"list{n}", segment=f"s{n}", destination="braze"), "add", [change("u1")])
    assert len(fake.users[("external_id", "u1")][MEMBERSHIP]) == 25  # silently, like Braze
    project = tmp_path / "p"
    (project / "segments").mkdir(parents=True)
    (project / "segwarehouse.yml").write_text(
        "name: t\npeople: {table: main.users, key: user_id}\ndestinations:\n"
        "  br: {type: braze, instance: iad-01, api_key: \"{{ env_var('BRAZE_KEY') }}\"}\n"
        "  br100: {type: braze, instance: iad-01, api_key: \"{{ env_var('BRAZE_KEY') }}\", array_limit: 100}\n")
    for n in range(26):
        (project / "segments" / f"s{n}.yml").write_text(
            f"name: s{n}\nwhere: {{attribute: plan, equals: p{n}}}\n"
            f"sync:\n  - {{destination: br, list: l{n}}}\n  - {{destination: br100, list: l{n}}}\n")
    [warning] = Project(project, environ={"BRAZE_KEY": "k"}).loaded.warnings
    assert str(warning).startswith("segwarehouse.yml:4: destination 'br': 26 segments keep their membership")
    assert "above its limit of 25 elements" in str(warning)
    done = subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(project), "validate"],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "BRAZE_KEY": "k"})
    assert done.returncode == 0, done.stderr
    assert f"warning: {warning}" in " ".join(done.stdout.split()) and "26 segment(s) valid" in done.stdout
