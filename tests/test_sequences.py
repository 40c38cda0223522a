"""Sequences (SPEC section 4, "Sequences"), one rule per segment, on every engine.

Each segment below isolates one rule of the SPEC text; the people of its data set sit on either
side of the rule's boundary. The members are spelled out (what the rule says), checked against the
Python reference (tests/reference.py), and then selected by the SQL segwarehouse renders for
DuckDB, PostgreSQL, Snowflake (fakesnow), ClickHouse and Spark."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml

import reference
import test_property as prop
from conftest import write_project
from helpers.cross_engine import many_rows, table
from segwarehouse.compiler.dialects import render
from segwarehouse.compiler.plan import build_plan, standalone_query
from segwarehouse.project.loader import load_project

AS_OF = dt.datetime(2026, 11, 1, 12, 0, 0)
T = AS_OF - dt.timedelta(days=2)
MICRO = dt.timedelta(microseconds=1)
MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)


def cart_then_purchase(**last):
    return {"sequence": [{"event": "add_to_cart"}, {"event": "purchase", **last}]}


# name -> (condition, {person: [(stream, time offset from T or absolute, event name/url, sku)]}, members)
CASES = {
    "within_after_exactly": (cart_then_purchase(within_after="1h"), {
        1: [("add_to_cart", T), ("purchase", T + HOUR)],               # exactly 1 hour: holds
        2: [("add_to_cart", T), ("purchase", T + HOUR + MICRO)],       # one microsecond past: does not
    }, {1}),
    "equal_times_never_chain": (cart_then_purchase(), {
        1: [("add_to_cart", T), ("purchase", T)],                      # same instant: not later
        2: [("add_to_cart", T), ("purchase", T + MICRO)],
        3: [("purchase", T), ("add_to_cart", T + MICRO)],              # wrong order
    }, {2}),
    "equal_times_same_step_name": ({"sequence": [{"event": "add_to_cart"}, {"event": "add_to_cart"}]}, {
        1: [("add_to_cart", T), ("add_to_cart", T)],                   # two rows, one instant
        2: [("add_to_cart", T), ("add_to_cart", T + MICRO)],
        3: [("add_to_cart", T)],                                       # one row is not two steps
    }, {2}),
    "negative_wait": (cart_then_purchase(within_after="1h", performed=False), {
        1: [("add_to_cart", AS_OF - HOUR)],                            # the wait ends exactly at as_of
        2: [("add_to_cart", AS_OF - HOUR + MICRO)],                    # still waiting
        3: [("add_to_cart", T), ("purchase", T + 30 * MINUTE)],        # bought within the hour
        4: [("add_to_cart", T), ("purchase", T + 2 * HOUR)],           # bought, but too late
        5: [("add_to_cart", T), ("purchase", T)],                      # same instant: not after the cart
        6: [("add_to_cart", AS_OF - 90 * MINUTE), ("purchase", AS_OF + MICRO)],  # a purchase after as_of
        7: [("add_to_cart", T), ("purchase", T + HOUR),                # one cart bought, a later one not
            ("add_to_cart", T + 3 * HOUR)],
        8: [("purchase", T)],
    }, {1, 4, 5, 6, 7}),
    "negative_without_wait": (cart_then_purchase(performed=False), {
        1: [("add_to_cart", T)],
        2: [("add_to_cart", T), ("purchase", AS_OF)],                  # bought by as_of
        3: [("purchase", T), ("add_to_cart", T + HOUR)],               # the purchase came before
        4: [("add_to_cart", T), ("purchase", AS_OF + MICRO)],          # after as_of: not yet
    }, {1, 3, 4}),
    "same_sku": (cart_then_purchase(within_after="1h", same=["properties.sku"]), {
        1: [("add_to_cart", T, "A"), ("purchase", T + MINUTE, "A")],
        2: [("add_to_cart", T, "A"), ("purchase", T + MINUTE, "B")],
        3: [("add_to_cart", T, None), ("purchase", T + MINUTE, None)],  # NULL is never equal
        4: [("add_to_cart", T, 7), ("purchase", T + MINUTE, "7")],      # equal text forms
        5: [("add_to_cart", T, "A"), ("add_to_cart", T + 2 * HOUR, "B"),  # the latest cart is another sku
            ("purchase", T + 2 * HOUR + MINUTE, "A")],
    }, {1, 4}),
    "same_sku_not_bought": (cart_then_purchase(within_after="1h", same=["properties.sku"], performed=False), {
        1: [("add_to_cart", T, "A"), ("purchase", T + MINUTE, "A")],
        2: [("add_to_cart", T, "A"), ("purchase", T + MINUTE, "B")],    # bought another item
        3: [("add_to_cart", T, None), ("purchase", T + MINUTE, None)],  # no sku: never "the same"
        4: [("add_to_cart", T, "A"), ("add_to_cart", T + MINUTE, "B"), ("purchase", T + 2 * MINUTE, "A")],
        5: [("add_to_cart", T, "A"), ("purchase", T + MINUTE, "A"),
            ("add_to_cart", T + 5 * MINUTE, "A"), ("purchase", T + 6 * MINUTE, "A")],
    }, {2, 3, 4}),
    "different_streams": ({"sequence": [{"page_view": "/cart"}, {"event": "purchase", "within_after": "1d"}]}, {
        1: [("/cart", T), ("purchase", T + HOUR)],
        2: [("purchase", T), ("/cart", T + HOUR)],
        3: [("/cart", T), ("purchase", T)],                            # equal times across streams
        4: [("/cart", T), ("purchase", T + DAY + MICRO)],
    }, {1}),
    "rows_after_as_of_ignored": (cart_then_purchase(), {
        1: [("add_to_cart", AS_OF), ("purchase", AS_OF + MICRO)],
        2: [("add_to_cart", AS_OF - MICRO), ("purchase", AS_OF)],
        3: [("add_to_cart", AS_OF + MICRO), ("purchase", AS_OF + HOUR)],
    }, {2}),
    "latest_reachable_row_decides": ({"sequence": [
        {"event": "add_to_cart"}, {"event": "checkout_started", "within_after": "1h"},
        {"event": "purchase", "within_after": "1h"}]}, {
        # the checkout at T+2h follows no cart within the hour, so the purchase is 2h after the
        # only reachable checkout
        1: [("add_to_cart", T), ("checkout_started", T + 30 * MINUTE), ("checkout_started", T + 2 * HOUR),
            ("purchase", T + 2 * HOUR + 30 * MINUTE)],
        2: [("add_to_cart", T), ("checkout_started", T + 30 * MINUTE), ("add_to_cart", T + 90 * MINUTE),
            ("checkout_started", T + 2 * HOUR), ("purchase", T + 2 * HOUR + 30 * MINUTE)],
        3: [("add_to_cart", T), ("checkout_started", T + HOUR), ("purchase", T + 2 * HOUR)],
    }, {2, 3}),
    "step_windows": ({"sequence": [{"event": "add_to_cart", "within": "1d"}, {"event": "purchase"}]}, {
        1: [("add_to_cart", AS_OF - 2 * DAY), ("purchase", AS_OF - HOUR)],  # cart outside its window
        2: [("add_to_cart", AS_OF - 2 * HOUR), ("purchase", AS_OF - HOUR)],
        3: [("add_to_cart", AS_OF - DAY), ("purchase", AS_OF - HOUR)],      # exactly 1 day: outside
    }, {2}),
}
PEOPLE = [{**{c: None for c in prop.PEOPLE_TYPES}, "user_id": i} for i in range(1, 9)]


def data(case: dict) -> tuple[list[dict], list[dict]]:
    events, page_views = [], []
    for person, rows in case.items():
        for name, at, *sku in rows:
            if name.startswith("/"):
                page_views.append({"user_id": person, "viewed_at": at, "url": name})
                continue
            properties = {"sku": sku[0]} if sku else None
            events.append({**{c: None for c in prop.EVENT_TYPES}, "user_id": person, "occurred_at": at,
                           "event_name": name, "properties": properties})
    return events, page_views


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = write_project(tmp_path_factory.mktemp("sequences") / "proj", {}, prop.PROJECT_YML)
    (root / "segments").mkdir()
    (root / "segments" / "sequences.yml").write_text(yaml.safe_dump(
        {"segments": [{"name": name, "where": c} for name, (c, _, _) in CASES.items()]}, sort_keys=False))
    return load_project(root)


@pytest.mark.parametrize("name", list(CASES))
def test_the_rule_is_what_the_reference_says(name):
    condition, case, expected = CASES[name]
    events, page_views = data(case)
    assert reference.members(condition, PEOPLE, {"event": events, "page_view": page_views}, as_of=AS_OF,
                             stream_defs=prop.STREAM_DEFS) == expected


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres", "snowflake", "clickhouse", "spark"])
def test_each_rule_on_every_engine(engines, project, engine_name):
    """One load per case (each has its own data), all segments' SELECTs over it; only the case's
    own segment is checked against its members."""
    engine = engines[engine_name]
    differ = {}
    for name, (_, case, expected) in CASES.items():
        events, page_views = data(case)
        engine.load({"main.users": table(PEOPLE, prop.PEOPLE_TYPES), "main.events": table(events, prop.EVENT_TYPES),
                     "main.page_views": table(page_views, prop.PAGE_VIEW_TYPES)})
        found = {p for p, _ in many_rows(engine, project.config, project.segments, [name], AS_OF)[name]}
        if found != expected:
            differ[name] = (sorted(found), sorted(expected))
    assert not differ, f"{engine_name} (engine, expected): {differ}"


def test_a_sequence_is_one_relation_without_a_join_over_history(project):
    """Each step reads its stream once, with its window pushed down; the steps meet in window
    functions, never in a join of stream rows with stream rows."""
    sql = render(standalone_query(project.config, project.segments, "latest_reachable_row_decides", AS_OF),
                 "duckdb")
    assert sql.count('FROM "main"."events" AS "s"') == 3
    assert sql.count("JOIN") == 1  # the people table LEFT JOIN the sequence's relation
    assert sql.count("OVER (PARTITION BY") == 2


def test_the_wait_and_earlier_windows_bound_the_rows_read(project):
    """The wait of a negative last step bounds the rows of the step before it (t + D <= as_of), and
    a step never reads rows older than the earliest row the steps before it admit."""
    sql = render(standalone_query(project.config, project.segments, "negative_wait", AS_OF), "duckdb")
    assert f"<= CAST('{(AS_OF - HOUR).isoformat(sep=' ')}' AS TIMESTAMP)" in sql
    sql = render(standalone_query(project.config, project.segments, "step_windows", AS_OF), "duckdb")
    assert sql.count(f"> CAST('{(AS_OF - DAY).isoformat(sep=' ')}' AS TIMESTAMP)") == 2


def test_identical_sequences_share_one_relation(project):
    plan = build_plan(project.config, project.segments, ["same_sku", "within_after_exactly"], AS_OF)
    assert len(plan.scans) == 2
    twin = {**project.segments, "twin": project.segments["same_sku"]}
    plan = build_plan(project.config, twin, ["same_sku", "twin"], AS_OF)
    assert len(plan.scans) == 1
