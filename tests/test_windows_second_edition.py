"""The second edition's groups and windows (SPEC section 4): `at_least`, split references, calendar
periods (`during`, in the project's time_zone, across DST) and `after`/`before` a people column, on
DuckDB, PostgreSQL and Snowflake. Expected members are spelled out and checked against the Python
reference (tests/reference.py) too."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml

import reference
import test_property as prop
from conftest import write_project
from helpers.cross_engine import many_rows, table
from segwarehouse.compiler import calendar
from segwarehouse.errors import ValidationError
from segwarehouse.project.loader import load_project
from segwarehouse.spec import model as m

ENGINES = ["duckdb", "postgres", "snowflake"]
MICRO = dt.timedelta(microseconds=1)
NONE_PERSON = {c: None for c in prop.PEOPLE_TYPES}


def Z(*parts) -> dt.datetime:
    return dt.datetime(*parts)


def event(user, at, name="purchase"):
    return {"user_id": user, "occurred_at": at, "event_name": name, "channel": None, "qty": None, "properties": None}


def evaluate(engine, tmp_path, zone, segments, people, events, as_of, splits=None):
    """{segment: members} on the engine, after checking that the reference selects the same."""
    yml = prop.PROJECT_YML + f"time_zone: {zone}\n"
    items = [{"name": name, "where": c, **({"splits": splits[name]} if splits and name in splits else {})}
             for name, c in segments.items()]
    root = write_project(tmp_path / "proj", {"s.yml": yaml.safe_dump({"segments": items}, sort_keys=False)}, yml)
    loaded = load_project(root)
    people = [{**NONE_PERSON, **p} for p in people]
    engine.load({"main.users": table(people, prop.PEOPLE_TYPES), "main.events": table(events, prop.EVENT_TYPES),
                 "main.page_views": table([], prop.PAGE_VIEW_TYPES)})
    rows = many_rows(engine, loaded.config, loaded.segments, list(segments), as_of)
    actual = {name: {person for person, _ in found} for name, found in rows.items()}
    evaluator = reference.Evaluator(people, {"event": events}, as_of=as_of, stream_defs=prop.STREAM_DEFS,
                                    segments=segments, time_zone=zone, splits=splits)
    assert actual == {name: evaluator.members(c) for name, c in segments.items()}
    return actual


# --- calendar periods ---------------------------------------------------------------------------------
# Europe/Berlin moved to summer time on 2026-03-29 at 01:00 UTC; as_of is noon UTC that day. Berlin's
# 29 March began at 23:00 UTC on the 28th (still +01:00); Monday 23 March at 23:00 UTC on the 22nd.
BERLIN_AS_OF = Z(2026, 3, 29, 12)
BERLIN_EVENTS = [
    event(1, Z(2026, 3, 28, 23) - MICRO),       # Sat 28 Mar, 23:59:59.999999 local: yesterday
    event(2, Z(2026, 3, 28, 23)),               # Sun 29 Mar, 00:00 local: today
    event(3, BERLIN_AS_OF + MICRO),             # after as_of: never
    event(4, Z(2026, 3, 22, 23)),               # Mon 23 Mar, 00:00: this week
    event(5, Z(2026, 3, 22, 23) - MICRO),       # Sun 22 Mar: last week
    event(6, Z(2026, 2, 28, 23)),               # Sun 1 Mar, 00:00: this month and quarter
    event(7, Z(2026, 2, 28, 23) - MICRO),       # Sat 28 Feb: last month
    event(8, BERLIN_AS_OF),                     # as_of itself: today ("so far")
    event(9, Z(2025, 12, 31, 23) - MICRO),      # 31 Dec 2025, 23:59:59.999999 local: last year and quarter
]
PERIODS = {
    "day_0": ({"unit": "day"}, {2, 8}),
    "day_minus_1": ({"unit": "day", "offset": -1}, {1}),
    "week_0": ({"unit": "week", "offset": 0}, {1, 2, 4, 8}),
    "week_minus_1": ({"unit": "week", "offset": -1}, {5}),
    "month_0": ({"unit": "month"}, {1, 2, 4, 5, 6, 8}),
    "month_minus_1": ({"unit": "month", "offset": -1}, {7}),
    "quarter_0": ({"unit": "quarter"}, {1, 2, 4, 5, 6, 7, 8}),
    "quarter_minus_1": ({"unit": "quarter", "offset": -1}, {9}),
    "year_minus_1": ({"unit": "year", "offset": -1}, {9}),
}


@pytest.mark.parametrize("engine_name", ENGINES)
def test_stream_periods_at_local_midnight_across_dst_in_berlin(engines, tmp_path, engine_name):
    people = [{"user_id": i} for i in range(1, 10)]
    segments = {name: {"event": "purchase", "during": period} for name, (period, _) in PERIODS.items()}
    actual = evaluate(engines[engine_name], tmp_path, "Europe/Berlin", segments, people, BERLIN_EVENTS,
                      BERLIN_AS_OF)
    assert actual == {name: keys for name, (_, keys) in PERIODS.items()}


@pytest.mark.parametrize("engine_name", ENGINES)
def test_the_same_rows_in_utc_fall_in_other_periods(engines, tmp_path, engine_name):
    """In UTC, 23:00 on the 28th is the 28th: the zone decides."""
    people = [{"user_id": i} for i in range(1, 10)]
    segments = {"day_0": {"event": "purchase", "during": {"unit": "day"}},
                "day_minus_1": {"event": "purchase", "during": {"unit": "day", "offset": -1}}}
    actual = evaluate(engines[engine_name], tmp_path, "UTC", segments, people, BERLIN_EVENTS, BERLIN_AS_OF)
    assert actual == {"day_0": {8}, "day_minus_1": {1, 2}}


# America/New_York left summer time on 2026-11-01 at 06:00 UTC: that local day was 25 hours long,
# from 04:00 UTC (-04:00) to 05:00 UTC on the 2nd (-05:00).
NEW_YORK_AS_OF = Z(2026, 11, 2, 12)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_25_hour_day_in_new_york_as_attribute_and_stream(engines, tmp_path, engine_name):
    times = {1: Z(2026, 11, 1, 4) - MICRO, 2: Z(2026, 11, 1, 4), 3: Z(2026, 11, 2, 5) - MICRO, 4: Z(2026, 11, 2, 5),
             5: Z(2026, 11, 1, 6, 30)}  # 5: 01:30 local, the repeated hour: still 1 November
    people = [{"user_id": k, "created_at": t} for k, t in times.items()] + [{"user_id": 6}]
    events = [event(k, t) for k, t in times.items()]
    yesterday = {"unit": "day", "offset": -1}
    segments = {"attribute": {"attribute": "created_at", "during": yesterday},
                "stream": {"event": "*", "during": yesterday}}
    actual = evaluate(engines[engine_name], tmp_path, "America/New_York", segments, people, events, NEW_YORK_AS_OF)
    assert actual == {"attribute": {2, 3, 5}, "stream": {2, 3, 5}}


def test_period_bounds_where_dst_skips_or_repeats_local_midnight():
    """America/Santiago skipped midnight on 2026-09-06 (00:00 -> 01:00, -04:00 -> -03:00): that day began
    at 01:00 local. America/Havana repeats 00:00-01:00 on 2026-11-01: the day begins at the first midnight."""
    day = m.CalendarPeriod("day", 0, "America/Santiago")
    assert calendar.bounds(day, Z(2026, 9, 6, 12)) == (Z(2026, 9, 6, 4), Z(2026, 9, 7, 3))
    assert calendar.local_bounds(day, Z(2026, 9, 6, 12))[0] == Z(2026, 9, 6, 1)
    havana = m.CalendarPeriod("day", 0, "America/Havana")
    assert calendar.bounds(havana, Z(2026, 11, 1, 12))[0] == Z(2026, 11, 1, 4)  # 00:00 -04:00, the first one
    for zone, as_of in (("America/Santiago", Z(2026, 9, 6, 12)), ("America/Havana", Z(2026, 11, 2, 3)),
                        ("America/Santiago", Z(2026, 4, 5, 12))):
        for unit in m.CalendarPeriod.UNITS:
            for offset in (0, -1):
                start, end = calendar.bounds(m.CalendarPeriod(unit, offset, zone), as_of)
                for t in (start - MICRO, start, end - MICRO, end):
                    assert (start <= t < end) == reference.in_period(t, {"unit": unit, "offset": offset}, as_of, zone)


def test_periods_beyond_the_calendar_are_empty_not_errors():
    start, end = calendar.bounds(m.CalendarPeriod("year", -3000, "Europe/Berlin"), Z(2026, 1, 1))
    assert start == end


# --- at_least -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("engine_name", ENGINES)
def test_at_least_counts_the_conditions_that_hold(engines, tmp_path, engine_name):
    as_of = Z(2026, 11, 1, 12)
    people = [{"user_id": 1, "age": 30, "vip": True}, {"user_id": 2, "age": 30}, {"user_id": 3},
              {"user_id": 4, "vip": True}]
    events = [event(1, as_of - dt.timedelta(days=1)), event(3, as_of - dt.timedelta(days=1))]
    of = [{"attribute": "age", "gte": 18}, {"attribute": "vip", "equals": True}, {"event": "purchase"}]
    segments = {f"k{k}": {"at_least": k, "of": of} for k in (1, 2, 3)}
    segments["k1_of_none"] = {"at_least": 1, "of": [{"not": {"attribute": "vip", "exists": True}}]}
    actual = evaluate(engines[engine_name], tmp_path, "UTC", segments, people, events, as_of)
    assert actual == {"k1": {1, 2, 3, 4}, "k2": {1}, "k3": {1}, "k1_of_none": {2, 3}}


# --- split references ---------------------------------------------------------------------------------

SPLITS = {"experiment": {"salt": "x", "groups": {"control": 30, "treatment": 70, "holdout": 0}}}


@pytest.mark.parametrize("engine_name", ENGINES)
def test_split_references_select_the_listed_groups(engines, tmp_path, engine_name):
    as_of = Z(2026, 11, 1, 12)
    people = [{"user_id": i, "age": i} for i in range(1, 41)]
    segments = {"experiment": {"attribute": "age", "gt": 5},
                "treatment": {"segment": "experiment", "split": ["treatment"]},
                "every_group": {"segment": "experiment", "split": ["treatment", "control"]},
                "empty_group": {"segment": "experiment", "split": ["holdout"]},
                "control_or_young": {"any": [{"segment": "experiment", "split": ["control"]},
                                             {"attribute": "age", "lte": 2}]}}
    actual = evaluate(engines[engine_name], tmp_path, "UTC", segments, people, [], as_of, SPLITS)
    splits = m.Splits("x", (("control", 30), ("treatment", 70), ("holdout", 0)))
    from segwarehouse.compiler.splits import group_of
    members = actual["experiment"]
    assert actual["treatment"] == {k for k in members if group_of(splits, k) == "treatment"}
    assert actual["treatment"] and actual["treatment"] != members
    assert actual["every_group"] == members and actual["empty_group"] == set()
    assert actual["control_or_young"] == {k for k in members if group_of(splits, k) == "control"} | {1, 2}


def test_a_split_reference_to_an_unknown_group_is_a_validation_error(tmp_path):
    items = [{"name": "experiment", "where": {"attribute": "age", "gt": 5}, "splits": SPLITS["experiment"]},
             {"name": "t", "where": {"segment": "experiment", "split": ["treatmnet"]}}]
    root = write_project(tmp_path / "proj", {"s.yml": yaml.safe_dump({"segments": items}, sort_keys=False)},
                         prop.PROJECT_YML)
    with pytest.raises(ValidationError) as raised:
        load_project(root)
    assert "s.yml:" in str(raised.value) and "treatmnet" in str(raised.value) and "treatment" in str(raised.value)


# --- after / before a people column ---------------------------------------------------------------------

@pytest.mark.parametrize("engine_name", ENGINES)
def test_after_and_before_with_boundaries_exactly_at_within(engines, tmp_path, engine_name):
    as_of = Z(2026, 11, 1, 12)
    signup = Z(2026, 10, 20, 8)
    two_days = dt.timedelta(days=2)
    people = [{"user_id": k, "created_at": signup} for k in range(1, 7)] + [{"user_id": 7}]
    events = [event(1, signup + two_days),               # exactly 2 days after: inside
              event(2, signup + two_days + MICRO),       # a microsecond more: outside
              event(3, signup),                          # at the signup itself: neither after nor before
              event(4, signup - two_days),               # exactly 2 days before: inside `before`
              event(5, signup - two_days - MICRO),       # a microsecond earlier: outside
              event(6, signup + MICRO),
              event(7, signup + dt.timedelta(hours=1))]  # NULL created_at: no matching rows
    segments = {"after_2d": {"event": "purchase", "after": {"attribute": "created_at", "within": "2d"}},
                "after_any": {"event": "purchase", "after": {"attribute": "created_at"}},
                "before_2d": {"event": "purchase", "before": {"attribute": "created_at", "within": "2d"}},
                "not_after_2d": {"event": "purchase", "after": {"attribute": "created_at", "within": "2d"},
                                 "performed": False}}
    actual = evaluate(engines[engine_name], tmp_path, "UTC", segments, people, events, as_of)
    assert actual == {"after_2d": {1, 6}, "after_any": {1, 2, 6}, "before_2d": {4},
                      "not_after_2d": {2, 3, 4, 5, 7}}


def test_after_windows_get_a_scan_of_their_own(tmp_path):
    """The join with the people table is paid only by the features that need it."""
    from segwarehouse.compiler.plan import build_plan
    items = [{"name": "a", "where": {"all": [{"event": "purchase", "within": "30d"},
                                             {"event": "purchase", "within": "30d",
                                              "after": {"attribute": "created_at"}}]}}]
    root = write_project(tmp_path / "proj", {"s.yml": yaml.safe_dump({"segments": items}, sort_keys=False)},
                         prop.PROJECT_YML)
    loaded = load_project(root)
    plan = build_plan(loaded.config, loaded.segments, ["a"], Z(2026, 11, 1))
    joined = {scan.name: bool(scan.query(plan.as_of).args.get("joins")) for scan in plan.scans}
    assert sorted(joined.values()) == [False, True]
    plain = next(s for s in plan.scans if not joined[s.name])
    assert "users" not in plain.query(plan.as_of).sql("duckdb")


# --- explain ------------------------------------------------------------------------------------------

def test_explain_counts_at_least_and_shows_the_local_period(tmp_path):
    import duckdb
    from conftest import PROJECT_YML
    from segwarehouse import Project
    where = {"at_least": 2, "of": [{"attribute": "plan", "equals": "pro"},
                                   {"event": "purchase", "during": {"unit": "month", "offset": -1}},
                                   {"attribute": "email", "exists": True}]}
    root = write_project(tmp_path / "p", {"s.yml": yaml.safe_dump({"name": "s", "where": where})},
                         PROJECT_YML + "time_zone: Europe/Berlin\n")
    con = duckdb.connect(str(root / "segwarehouse.duckdb"))
    con.execute("CREATE TABLE main.users (user_id BIGINT, email VARCHAR, plan VARCHAR)")
    con.execute("INSERT INTO main.users VALUES (1, 'a@x.com', 'free'), (2, NULL, 'free')")
    con.execute("CREATE TABLE main.events (user_id BIGINT, occurred_at TIMESTAMP, event_name VARCHAR, properties JSON)")
    con.execute("INSERT INTO main.events VALUES (1, '2026-09-30 22:00:00', 'purchase', NULL)")  # 1 Oct, 00:00 Berlin
    con.close()
    member = Project(root).explain("s", 1, as_of="2026-11-01T12:00:00Z")
    assert member.member and member.steps[0].values == {"conditions held (of 3, at least 2)": 2}
    assert member.steps[2].values == {"count": 1, "month -1 (Europe/Berlin)":
                                      "2026-10-01 00:00:00 to 2026-11-01 00:00:00 (end excluded)"}
    other = Project(root).explain("s", 2, as_of="2026-11-01T12:00:00Z")
    assert not other.member and other.steps[0].values == {"conditions held (of 3, at least 2)": 0}


def test_the_catalog_check_reads_the_anchor_column(tmp_path):
    """after/before name a people column: a typo is reported at its FILE:LINE before any SQL runs."""
    from segwarehouse.compiler.catalog import Catalog, check_segment
    items = [{"name": "a", "where": {"event": "purchase", "after": {"attribute": "signup_att", "within": "2d"}}},
             {"name": "b", "where": {"event": "purchase", "before": {"attribute": "created_at"}}}]
    root = write_project(tmp_path / "proj", {"s.yml": yaml.safe_dump({"segments": items}, sort_keys=False)},
                         prop.PROJECT_YML)
    loaded = load_project(root)
    columns = {"main.users": {"user_id": "BIGINT", "created_at": "TIMESTAMP", "signup_at": "TIMESTAMP"},
               "main.events": dict(prop.EVENT_TYPES), "main.page_views": dict(prop.PAGE_VIEW_TYPES)}
    catalog = Catalog(columns)
    problems = check_segment(loaded.segments["a"], loaded.config, catalog)
    assert len(problems) == 1 and "signup_att" in problems[0].message and "signup_at" in problems[0].message
    assert problems[0].file.endswith("s.yml") and problems[0].line
    assert check_segment(loaded.segments["b"], loaded.config, catalog) == []
