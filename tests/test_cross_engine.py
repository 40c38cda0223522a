"""Cross-engine equivalence: the SELECT of a segment's members, rendered for each engine's dialect
and executed on DuckDB, PostgreSQL, Snowflake (fakesnow), ClickHouse (chdb) and Spark (pyspark),
selects the same people on all five, and the people the pure-Python reference selects.

(a) the example project's segments over the demo data (static segments excluded: their CSV is
    loaded into a temporary table by the DuckDB runner only);
(b) hand-picked edge cases of SPEC section 4: window boundaries, rows after as_of, NULLs, JSON values
    that are not numbers, quotes, % and _, backslashes, mixed case, ignore_case, patterns;
(c) random condition trees from tests/test_property.py's strategies, a few dozen per engine.
"""
from __future__ import annotations

import datetime as dt

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings

import reference
import test_property as prop
from conftest import ROOT, write_project
from helpers.cross_engine import demo_tables, many_rows, members, table
from segwarehouse import Project
from segwarehouse.compiler import dialect_rules
from segwarehouse.compiler.dialects import RULES, render
from segwarehouse.compiler.plan import standalone_query
from segwarehouse.compiler.splits import group_of
from segwarehouse.project.loader import load_project

ENGINES = ["duckdb", "postgres", "snowflake", "clickhouse", "spark"]
OTHERS = ENGINES[1:]
ANCHOR = dt.datetime(2026, 11, 1)


# --- (a) the example project ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def example():
    project = Project(ROOT)
    dynamic = sorted(name for name, s in project.segments.items()
                     if not s.static and not any(project.segments[r].static for r in s.depends_on))
    return project, dynamic, demo_tables(people=400, seed=11, anchor=ANCHOR)


def example_rows(engine, example) -> dict[str, list[tuple]]:
    project, dynamic, tables = example
    engine.load(tables)
    rows = many_rows(engine, project.loaded.config, project.segments, dynamic, ANCHOR)
    return {name: sorted(found) for name, found in rows.items()}


@pytest.fixture(scope="module")
def duckdb_example(engines, example):
    return example_rows(engines["duckdb"], example)


def test_example_segments_select_members_on_duckdb(example, duckdb_example):
    project, dynamic, _ = example
    assert len(dynamic) >= 15
    empty = [name for name, rows in duckdb_example.items() if not rows]
    assert not empty, f"segments with no members in the demo data, so they test nothing: {empty}"
    for name, rows in duckdb_example.items():
        splits = project.segments[name].splits
        if splits:  # the split group, computed by the engine, is the Python twin's
            assert [group for _, group in rows] == [group_of(splits, key) for key, _ in rows], name


@pytest.mark.parametrize("engine_name", OTHERS)
def test_example_segments_agree_with_duckdb(engines, example, duckdb_example, engine_name):
    """Same members and same split groups for every dynamic segment of the example project."""
    rows = example_rows(engines[engine_name], example)
    differ = {name: (len(rows[name]), len(duckdb_example[name])) for name in rows if rows[name] != duckdb_example[name]}
    assert not differ, f"{engine_name} vs duckdb (members there, here): {differ}"


# --- (b) edge cases of SPEC section 4 ---------------------------------------------------------------------

AS_OF = dt.datetime(2026, 11, 1, 12, 30, 0, 250000)
MICRO = dt.timedelta(microseconds=1)
DAY = dt.timedelta(days=1)
NONE_PERSON = {c: None for c in prop.PEOPLE_TYPES}
EDGE_PEOPLE = [{**NONE_PERSON, **p} for p in [
    {"user_id": 1, "name": "O'Brien", "email": "x_y%z@mail.com", "code": "12.5", "age": 30, "score": 12.5,
     "created_at": AS_OF - 7 * DAY, "vip": True, "big": 2 ** 53 + 1},
    {"user_id": 2, "name": "ann", "email": "Bob@Yahoo.com", "code": "n/a", "score": 0.4,
     "created_at": AS_OF - 7 * DAY + MICRO, "vip": False, "big": 2 ** 53},
    {"user_id": 3, "name": 'say "hi"', "email": "ann@gmail.com", "code": "007", "age": 0, "score": -0.4,
     "created_at": AS_OF + MICRO, "big": 5},
    {"user_id": 4, "name": "a\\b", "email": "pipe|plus+star*@x.io", "code": "", "age": 60, "score": 7.0,
     "vip": True},
    {"user_id": 5},
    {"user_id": 6, "name": "Winter Sale", "email": "o'brien@mail.com", "code": "-3", "age": 12,
     "created_at": AS_OF, "vip": False},
    {"user_id": 7, "name": "50%_off", "code": "abc", "created_at": AS_OF + DAY},
    {"user_id": 8, "name": "ANN", "email": "ann@gmail.com", "code": "9007199254740993", "age": -5,
     "created_at": AS_OF - 30 * DAY},
    {"user_id": 9, "name": "$A"},  # `$NAME` is a Snowflake session variable, but not inside quotes
]]


def _event(user, at, name="purchase", channel="web", qty=None, **props):
    return {"user_id": user, "occurred_at": at, "event_name": name, "channel": channel, "qty": qty,
            "properties": props or None}


EDGE_EVENTS = [
    _event(1, AS_OF - 30 * DAY, amount=10, category="coats"),  # exactly 30 days: outside `within: 30d`
    _event(1, AS_OF - 30 * DAY + MICRO, amount="12.5", category="Coats", gift=True),
    _event(1, AS_OF, amount="n/a", category="winter 50%_off"),  # at as_of: inside
    _event(2, AS_OF + MICRO, amount=1000, category="coats"),  # after as_of: never matches
    _event(2, AS_OF - DAY, amount="", category="it's", gift=False, when=f"{(AS_OF - 2 * DAY).isoformat()}+01:00"),
    _event(2, AS_OF - 2 * DAY, name="Purchase", amount=20, category='a "b"'),
    _event(3, AS_OF - 3 * DAY, amount=True, category="a\\b", when="soon"),
    _event(3, AS_OF - 3 * DAY, name="50%_off", channel="Web"),
    _event(4, AS_OF - DAY, name="5_%off", qty=2, amount=-0.4),
    _event(4, AS_OF - DAY, name="back\\slash", qty=5, amount=2 ** 53 + 1),
    _event(5, AS_OF - 40 * DAY, name="a+b", amount=7, when=f"{(AS_OF - 12 * dt.timedelta(hours=1)).isoformat()}Z"),
    _event(6, AS_OF - 12 * dt.timedelta(hours=1), name="a|b", amount=12.5),
    _event(6, AS_OF - 100 * DAY, name="x*y", amount=30),
    _event(7, AS_OF - 100 * DAY, amount=500, category="boots", when="12"),  # "12" is no time (ClickHouse: 12 Jan)
    _event(9, AS_OF - DAY, amount=99),  # belongs to nobody
    {"user_id": 8, "occurred_at": AS_OF - DAY, "event_name": "purchase", "channel": None, "qty": None,
     "properties": {"amount": None, "category": None}},
]
EDGE_PAGE_VIEWS = [{"user_id": u, "viewed_at": at, "url": url} for u, at, url in [
    (1, AS_OF - DAY, "/shop/winter/coats"), (1, AS_OF - 2 * DAY, "/winter/"), (2, AS_OF - DAY, "/Winter/sale"),
    (3, AS_OF - 14 * DAY, "/shop/winter"), (4, AS_OF + MICRO, "/winter/"), (6, AS_OF, "/winter/"),
]]

EDGE_CONDITIONS = {
    "within_boundary": {"attribute": "created_at", "within": "7d"},
    "older_than_boundary": {"attribute": "created_at", "older_than": "7d"},
    "within_next": {"attribute": "created_at", "within_next": "1d"},
    "not_equals_null": {"attribute": "name", "not_equals": "ann"},
    "equals_ignore_case": {"attribute": "name", "equals": "ann", "ignore_case": True},
    "not_in_ignore_case": {"attribute": "name", "not_in": ["ANN", "o'brien"], "ignore_case": True},
    "contains_percent": {"attribute": "email", "contains": "%"},
    "contains_underscore": {"attribute": "name", "contains": "_"},
    "dollar_text": {"attribute": "name", "equals": "$A"},
    "contains_quote": {"attribute": "name", "contains": "'|\"hi\""},
    "contains_backslash": {"attribute": "name", "contains": "a\\\\b"},
    "contains_escaped_metachars": {"attribute": "email", "contains": "\\|plus\\+star\\*"},
    "contains_and_star": {"attribute": "name", "contains": "win*er+sale", "ignore_case": True},
    "not_contains": {"attribute": "email", "not_contains": "gmail|yahoo", "ignore_case": True},
    "starts_with_quote": {"attribute": "email", "starts_with": "o'"},
    "ends_with_wildcards": {"attribute": "name", "ends_with": "%_off"},
    "matches_search": {"attribute": "name", "matches": "[A-Z]"},
    "matches_digits": {"attribute": "code", "matches": "\\d+"},
    "matches_anchored": {"attribute": "name", "matches": "^.{3}$"},
    "text_as_number": {"attribute": "code", "gt": 10},
    "text_not_a_number": {"attribute": "code", "not_equals": 12.5},
    "huge_integer": {"attribute": "code", "equals": 2 ** 53 + 1},
    "bigint_exact": {"attribute": "big", "gt": 2 ** 53},
    "between_fractions": {"attribute": "score", "between": [-0.4, 0.4]},
    "boolean_not_equals": {"attribute": "vip", "not_equals": True},
    "exists_false": {"attribute": "age", "exists": False},
    "amount_number": {"event": "purchase", "where": {"properties.amount": {"gte": 10}}},
    "amount_not_equals": {"event": "purchase", "where": {"properties.amount": {"not_equals": 12.5}}},
    "sum_skips_text": {"event": "purchase", "sum": {"of": "properties.amount", "gte": 20}},
    "avg_min_max": {"any": [{"event": "purchase", "avg": {"of": "properties.amount", "lt": 5}},
                            {"event": "*", "max": {"of": "properties.amount", "gte": 2 ** 53 + 1}},
                            {"event": "purchase", "min": {"of": "properties.amount", "equals": 12.5}}]},
    "window_boundary": {"event": "purchase", "within": "30d", "count": {"gte": 2}},
    "since_until": {"event": "*", "since": AS_OF - 3 * DAY, "until": AS_OF - DAY},
    "performed_false": {"event": "purchase", "within": "30d", "performed": False},
    "first_last": {"event": "purchase", "first": {"older_than": "7d"}, "last": {"within": "1d"}},
    "category_in_quotes": {"event": "purchase", "where": {"properties.category": ["coats", "it's", 'a "b"']}},
    "category_pattern": {"event": "purchase", "where": {"properties.category": {"contains": "50%_off|a\\\\b"}}},
    "category_ignore_case": {"event": "purchase", "where": {"properties.category": {"equals": "COATS",
                                                                                     "ignore_case": True}}},
    "json_boolean": {"event": "purchase", "where": {"properties.gift": True}},
    "json_time_with_offset": {"event": "*", "where": {"properties.when": {"within": "3d"}}},
    "json_time_not_a_time": {"event": "*", "where": {"properties.when": {"older_than": "1d"}}},
    "json_key_missing": {"event": "purchase", "where": {"properties.category": {"exists": False}}},
    "name_wildcards_literal": {"event": "50%_off|5_%off"},
    "name_backslash_plus_pipe": {"event": "back\\\\slash|a+b|a\\|b|x\\*y"},
    "name_glob_case": {"event": "*urchase"},
    "channel_in": {"event": "*", "where": {"channel": ["web"], "qty": {"gte": 2}}},
    "page_view_glob": {"page_view": "*/winter/*", "within": "14d", "count": {"gte": 2}},
    "nested_groups": {"all": [{"any": [{"attribute": "vip", "equals": True}, {"not": {"event": "purchase"}}]},
                              {"none": [{"attribute": "name", "contains": "O'"}]}]},
}


@pytest.fixture(scope="module")
def edge_project(tmp_path_factory):
    root = write_project(tmp_path_factory.mktemp("edge") / "proj", {}, prop.PROJECT_YML)
    (root / "segments").mkdir()
    (root / "segments" / "edge.yml").write_text(yaml.safe_dump(
        {"segments": [{"name": name, "where": c} for name, c in EDGE_CONDITIONS.items()]}, sort_keys=False))
    loaded = load_project(root)
    streams = {"event": EDGE_EVENTS, "page_view": EDGE_PAGE_VIEWS}
    expected = {name: reference.members(c, EDGE_PEOPLE, streams, as_of=AS_OF, stream_defs=prop.STREAM_DEFS)
                for name, c in EDGE_CONDITIONS.items()}
    return loaded, expected


def test_edge_cases_each_select_some_but_not_all(edge_project):
    """Each edge case separates people, so an engine that gets it wrong shows a difference."""
    _, expected = edge_project
    trivial = [name for name, keys in expected.items() if not keys or len(keys) == len(EDGE_PEOPLE)]
    assert not trivial


def edge_tables():
    return {"main.users": table(EDGE_PEOPLE, prop.PEOPLE_TYPES), "main.events": table(EDGE_EVENTS, prop.EVENT_TYPES),
            "main.page_views": table(EDGE_PAGE_VIEWS, prop.PAGE_VIEW_TYPES)}


@pytest.mark.parametrize("engine_name", ENGINES)
def test_edge_cases_agree_with_reference(engines, edge_project, engine_name):
    loaded, expected = edge_project
    engine = engines[engine_name]
    engine.load(edge_tables())
    rows = many_rows(engine, loaded.config, loaded.segments, list(EDGE_CONDITIONS), AS_OF)
    actual = {name: {person for person, _ in found} for name, found in rows.items()}
    differ = {name: (sorted(actual[name]), sorted(expected[name])) for name in EDGE_CONDITIONS
              if actual[name] != expected[name]}
    assert not differ, f"{engine_name} (engine, reference): {differ}"


# --- (c) random condition trees ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def random_root(tmp_path_factory):
    root = write_project(tmp_path_factory.mktemp("random") / "proj", {}, prop.PROJECT_YML)
    (root / "segments").mkdir()
    return root


def random_case_agrees(engine, root, case) -> None:
    as_of, condition, people, events, page_views = case
    (root / "segments" / "s.yml").write_text(yaml.safe_dump({"name": "s", "where": condition}, sort_keys=False))
    note("segment: " + yaml.safe_dump({"name": "s", "where": condition}, sort_keys=False))
    loaded = load_project(root)
    engine.load({"main.users": table(people, prop.PEOPLE_TYPES), "main.events": table(events, prop.EVENT_TYPES),
                 "main.page_views": table(page_views, prop.PAGE_VIEW_TYPES)})
    actual = members(engine, loaded.config, loaded.segments, "s", as_of)
    expected = reference.members(condition, people, {"event": events, "page_view": page_views}, as_of=as_of,
                                 stream_defs=prop.STREAM_DEFS)
    assert actual == expected, f"{engine.name}, as_of {as_of}: engine {sorted(actual)}, reference {sorted(expected)}"


RANDOM = settings(max_examples=50, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("engine_name", ["postgres", "snowflake", "clickhouse"])
@RANDOM
@given(case=prop.cases())
def test_random_conditions_agree_with_reference(engines, random_root, engine_name, case):
    random_case_agrees(engines[engine_name], random_root, case)


@settings(RANDOM, max_examples=12)
@given(case=prop.cases())
def test_random_conditions_agree_with_reference_on_spark(engines, random_root, case):
    random_case_agrees(engines["spark"], random_root, case)


@pytest.mark.parametrize("engine_name", ["postgres", "snowflake", "clickhouse"])
@settings(RANDOM, max_examples=30)
@given(case=prop.chain_cases())
def test_random_sequences_agree_with_reference(engines, random_root, engine_name, case):
    """Sequences over chained rows: ties, gaps on and a microsecond past within_after, waits."""
    random_case_agrees(engines[engine_name], random_root, case)


# --- rules of compile-only dialects, executed where an engine runs their SQL --------------------------------
# Redshift's FILTER rewrite is plain SQL that Postgres runs; BigQuery's backslash-escaped LIKE is what
# ClickHouse's LIKE reads without an ESCAPE clause. Each rule is added to the engine's own rules and the
# edge cases must still select what the reference selects.

@pytest.mark.parametrize("engine_name, rule, gone", [
    ("postgres", dialect_rules.filter_as_case, "FILTER("),
    ("clickhouse", dialect_rules.backslash_like, "ESCAPE"),
])
def test_compile_only_rules_keep_the_edge_cases(engines, edge_project, monkeypatch, engine_name, rule, gone):
    loaded, expected = edge_project
    engine = engines[engine_name]
    monkeypatch.setitem(RULES, engine_name, [*RULES[engine_name], rule])
    names = list(EDGE_CONDITIONS)

    def sql(name: str, dialect: str) -> str:
        return render(standalone_query(loaded.config, loaded.segments, name, AS_OF), dialect)

    assert any(gone in sql(name, "duckdb") for name in names)  # the construct is there to rewrite
    rendered = [sql(name, engine_name) for name in names]
    assert not any(gone in text for text in rendered)
    engine.load(edge_tables())
    actual = {name: {row[0] for row in engine.rows(text)} for name, text in zip(names, rendered)}
    differ = {name: (sorted(actual[name]), sorted(expected[name])) for name in names if actual[name] != expected[name]}
    assert not differ


# --- non-ASCII text: regex classes and ignore_case ---------------------------------------------------------
# The Python reference reads \w and \d as Unicode classes; the engines' regex libraries (RE2, Java) read
# them as ASCII, and Postgres is made to (dialect_rules.postgres_ascii_classes). Expected sets are spelled out.

UNICODE_PEOPLE = [{**NONE_PERSON, "user_id": i, "name": v}
                  for i, v in enumerate(["é", "\u0663", "a b", "a\u00a0b", "x", "É", "7"], 1)]
UNICODE_CONDITIONS = {
    "word": ({"attribute": "name", "matches": "^\\w$"}, {5, 7}),
    "digit": ({"attribute": "name", "matches": "^[\\d]$"}, {7}),
    "not_digit": ({"attribute": "name", "matches": "^\\D$"}, {1, 2, 5, 6}),
    "space": ({"attribute": "name", "matches": "a\\sb"}, {3}),
    "lower": ({"attribute": "name", "equals": "é", "ignore_case": True}, {1, 6}),
}


@pytest.mark.parametrize("engine_name", ENGINES)
def test_non_ascii_text(engines, tmp_path, engine_name):
    root = write_project(tmp_path / "proj", {"u.yml": yaml.safe_dump(
        {"segments": [{"name": name, "where": c} for name, (c, _) in UNICODE_CONDITIONS.items()]},
        allow_unicode=True)}, prop.PROJECT_YML)
    loaded = load_project(root)
    engine = engines[engine_name]
    engine.load({"main.users": table(UNICODE_PEOPLE, prop.PEOPLE_TYPES), "main.events": table([], prop.EVENT_TYPES),
                 "main.page_views": table([], prop.PAGE_VIEW_TYPES)})
    rows = many_rows(engine, loaded.config, loaded.segments, list(UNICODE_CONDITIONS), AS_OF)
    actual = {name: {person for person, _ in found} for name, found in rows.items()}
    assert actual == {name: keys for name, (_, keys) in UNICODE_CONDITIONS.items()}
