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


def test_explain_shows_how_far_each_person_got(tmp_path):
    """explain: per step, when the person first completed the steps up to it; for a negative last
    step, the earliest row before it that nothing followed. NULL (no value): never reached."""
    import duckdb
    from conftest import PROJECT_YML
    from segwarehouse import Project
    three_steps = {"sequence": [{"event": "add_to_cart"}, {"event": "checkout", "within_after": "1h"},
                                {"event": "purchase", "same": ["properties.sku"]}]}
    abandoned = cart_then_purchase(within_after="1h", performed=False)
    root = write_project(tmp_path / "p", {"s.yml": yaml.safe_dump({"segments": [
        {"name": "funnel", "where": three_steps}, {"name": "abandoned", "where": abandoned}]})}, PROJECT_YML)
    con = duckdb.connect(str(root / "segwarehouse.duckdb"))
    con.execute("CREATE TABLE main.users (user_id BIGINT, email VARCHAR, plan VARCHAR)")
    con.execute("INSERT INTO main.users VALUES (1, NULL, NULL), (2, NULL, NULL), (3, NULL, NULL)")
    con.execute("CREATE TABLE main.events (user_id BIGINT, occurred_at TIMESTAMP, event_name VARCHAR, properties JSON)")
    rows = [(1, T, "add_to_cart", None), (1, T + 2 * HOUR, "checkout", '{"sku": "a"}'),  # too late: no chain
            (1, T + 3 * HOUR, "add_to_cart", None), (1, T + 3 * HOUR + MINUTE, "checkout", '{"sku": "a"}'),
            (1, T + 5 * HOUR, "purchase", '{"sku": "a"}'),                               # complete
            (2, T, "add_to_cart", None), (2, T + MINUTE, "checkout", '{"sku": "a"}'),
            (2, T + HOUR, "purchase", '{"sku": "b"}'),                                   # another sku
            (2, T + 2 * HOUR, "purchase", None)]                                         # no sku
    con.executemany("INSERT INTO main.events VALUES (?, ?, ?, ?)", rows)
    con.close()
    project = Project(root)
    first, second = project.explain("funnel", 1, as_of=AS_OF), project.explain("funnel", 2, as_of=AS_OF)
    steps = ("step 1 first reached at", "step 2 first reached at", "step 3 first reached at")
    assert first.member and first.steps[0].values == dict(zip(steps, (T, T + 3 * HOUR + MINUTE, T + 5 * HOUR)))
    assert not second.member and second.steps[0].values == dict(zip(steps, (T, T + MINUTE, None)))
    third = project.explain("funnel", 3, as_of=AS_OF)
    assert third.steps[0].values == dict.fromkeys(steps)
    # abandoned: person 2's cart at T was followed by a purchase within the hour, person 1's carts were not
    labels = ("step 1 first reached at", "no step 2 after the step 1 row at")
    assert project.explain("abandoned", 1, as_of=AS_OF).steps[0].values == dict(zip(labels, (T, T)))
    bought = project.explain("abandoned", 2, as_of=AS_OF)
    assert not bought.member and bought.steps[0].values == dict(zip(labels, (T, None)))
