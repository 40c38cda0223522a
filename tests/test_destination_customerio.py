"""The Customer.io destination against its local fake (Track API v1 segments, v2 batch) over loopback:
the behaviours corrected against Customer.io's own specification (VENDOR-AUDIT.md, defects 1, 4, 5, 11)."""
import datetime as dt
import os
import subprocess
import sys
import time

import pytest

from fakes import customerio as fake_cio
from helpers.fast_destinations import change, pointed_at, serving, subscription
from segwarehouse.sync.destinations import customerio
from segwarehouse.sync.http import GaveUp, RateLimit
from segwarehouse.sync.records import Change, Rejected

SUB = subscription(fake_cio.LIST, segment="vip", destination="cio")


@pytest.fixture
def fake():
    yield from serving(fake_cio)


def cio(fake, **overrides):
    return pointed_at(fake_cio, fake, "cio", **overrides)


def test_new_people_are_identified_before_they_are_added_to_the_segment(fake):
    dest = cio(fake)
    assert dest.send(SUB, "add", [change("1"), change("2")]).rejected == {}  # no fields: still identified
    assert fake_cio.members(fake, fake_cio.LIST) == {"1", "2"}
    assert fake.requests_to("POST", r"/api/v2/batch") and dest.unconfirmed == 0


def test_without_create_people_unknown_ids_are_ignored_by_the_vendor_and_counted(fake):
    dest = cio(fake, create_people=False)
    assert dest.send(SUB, "add", [change("1"), change("2")]).rejected == {}
    # Customer.io ignores ids that match nobody: only the identify step makes a new person a member
    assert fake_cio.members(fake, fake_cio.LIST) == set()
    assert not fake.requests_to("POST", r"/api/v2/batch")
    assert dest.unconfirmed == 2
    cio(fake).send(SUB, "add", [change("1")])  # someone (the app) creates person 1
    dest.send(SUB, "add", [change("1"), change("2")])
    assert fake_cio.members(fake, fake_cio.LIST) == {"1"} and dest.unconfirmed == 4


def test_events_carry_the_send_time_so_late_syncs_still_start_campaigns(fake):
    dest = cio(fake)
    events = subscription(None, segment="vip", destination="cio")
    week_old = Change("7", "7", "entered", dt.datetime.utcnow() - dt.timedelta(days=7), "run-1")
    before = time.time()
    assert dest.send(events, "event", [week_old]).rejected == {}
    [(event_id, entry)] = fake.events.items()
    assert before - 1 <= entry["timestamp"] <= time.time() + 1
    assert entry["attributes"]["changed_at"] == customerio.unix_time(week_old.changed_at)
    assert fake.campaigns_started == [event_id]
    dest.send(events, "event", [week_old])  # resent after a timeout: the same id, one event
    assert list(fake.events) == [event_id] and fake.campaigns_started == [event_id]


def test_an_unknown_segment_stops_the_subscription_instead_of_writing_everyone_off(fake):
    dest = cio(fake)
    wrong = subscription("9999", segment="vip", destination="cio")
    with pytest.raises(GaveUp, match=r"segment '9999'.*segment 9999 not found.*check `list:`"):
        dest.send(wrong, "add", [change(str(i)) for i in range(10)])
    assert len(fake.requests_to("POST", r"/add_customers")) == 1  # not halved down to single ids
    with pytest.raises(GaveUp, match="remove_customers"):
        dest.send(wrong, "remove", [change("1", "exited")])


def test_a_refused_v2_batch_is_rejected_in_the_vendors_words(fake, monkeypatch):
    monkeypatch.setattr(customerio, "V2_MAX_BYTES", 2_000_000)  # let one request go over 500 KB
    dest = cio(fake)
    big = [change(str(i), fields={"bio": "x" * 30_000}) for i in range(20)]
    with pytest.raises(Rejected, match="Customer.io 400: too_large batch batch too large: must be under 500 KB"):
        dest.send(SUB, "add", big)


def test_the_rate_is_the_documented_one_and_a_setting_lowers_it(fake):
    assert cio(fake).rate == RateLimit(1000, 1.0)
    assert cio(fake, requests_per_second=100).rate == RateLimit(100, 1.0)


def test_a_sync_without_create_people_reports_the_unconfirmed_ids(fake, tmp_path):
    from segwarehouse import Project
    from helpers.sync_project import FAST, people, set_people, write_sync_project

    root, environ = tmp_path / "p", {}
    write_sync_project(root, {"cio": {**fake_cio.settings(fake.base_url), **FAST, "create_people": False}},
                       [{"destination": "cio", "list": fake_cio.LIST}], environ)
    set_people(root, people(10, {1, 2, 3}))
    assert Project(root, environ=environ).run(as_of="2026-10-01").ok
    [result] = Project(root, environ=environ).sync()
    assert result.status == "success" and result.sent == 3 and result.unconfirmed == 3
    assert fake_cio.members(fake, fake_cio.LIST) == set()  # nobody existed: Customer.io ignored them all
    set_people(root, people(10, {1, 2, 3, 4}))
    assert Project(root, environ=environ).run(as_of="2026-10-02").ok
    done = subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(root), "sync"],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **environ})
    assert done.returncode == 0, done.stderr
    assert "vip -> cio: 1 id(s) sent without creating the people first" in " ".join(done.stdout.split())
