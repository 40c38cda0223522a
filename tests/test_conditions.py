"""SPEC section 4 (conditions) and section 6 (splits), one rule at a time, on DuckDB.

Every test builds typed tables on an in-memory DuckDB, compiles one segment with the engine's own
planner (`standalone_query`) and asserts the exact member set. Where the case is one the reference
evaluator (tests/reference.py) defines, the reference must give the same hand-written answer too,
so these tests also pin the reference to the SPEC.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Optional

import duckdb
import pytest
import yaml

from conftest import PROJECT_YML, write_project
from segwarehouse.testing import sql_type as segwarehouse_sql_type
from segwarehouse.compiler.plan import standalone_query
from segwarehouse.project.loader import load_project

import reference

AS_OF = dt.datetime(2026, 11, 1, 0, 0, 0)
DAY = dt.timedelta(days=1)
MICRO = dt.timedelta(microseconds=1)

EVENT_COLUMNS = {"user_id": "BIGINT", "occurred_at": "TIMESTAMP", "event_name": "VARCHAR", "properties": "JSON"}


sql_type = segwarehouse_sql_type  # one inference of column types from YAML values


def db_value(v: Any, type_: str) -> Any:
    if type_ == "JSON" and v is not None and not isinstance(v, str):
        return json.dumps(v)
    return v


def create_table(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict],
                 types: Optional[dict[str, str]] = None) -> None:
    """CREATE OR REPLACE TABLE name with `types` (others inferred from the rows), holding `rows`."""
    columns = dict(types or {})
    for row in rows:
        for column in row:
            columns.setdefault(column, None)
    for column, type_ in columns.items():
        if type_ is None:
            columns[column] = sql_type([row.get(column) for row in rows])
    ddl = ", ".join(f'"{c}" {t}' for c, t in columns.items())
    con.execute(f"CREATE OR REPLACE TABLE {name} ({ddl})")
    if rows:
        names = list(columns)
        tuple_ = "(" + ", ".join("?" for _ in names) + ")"
        con.execute(f"INSERT INTO {name} VALUES " + ", ".join(tuple_ for _ in rows),
                    [db_value(row.get(c), columns[c]) for row in rows for c in names])


class Warehouse:
    """One project directory and one in-memory DuckDB connection; tables are replaced at will."""

    def __init__(self, root: Path, project_yml: str = PROJECT_YML):
        self.root = write_project(root, {}, project_yml)
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.people_rows: list[dict] = []
        self.stream_rows: dict[str, list[dict]] = {}

    def table(self, name: str, rows: list[dict], types: Optional[dict[str, str]] = None) -> None:
        create_table(self.con, name, rows, types)

    def people(self, rows: list[dict], **types: str) -> None:
        self.people_rows = rows
        self.table("main.users", rows, {"user_id": "BIGINT", **types})

    def events(self, rows: list[dict], **types: str) -> None:
        self.stream_rows["event"] = rows
        self.table("main.events", rows, {**EVENT_COLUMNS, **types})

    def write_segments(self, segments: list[dict]) -> None:
        folder = self.root / "segments"
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.yml"):
            old.unlink()
        (folder / "s.yml").write_text(yaml.safe_dump({"segments": segments}, sort_keys=False, allow_unicode=True),
                                      encoding="utf-8")

    def query(self, where: dict, as_of: dt.datetime = AS_OF, others: Optional[dict[str, dict]] = None,
              **segment: Any) -> list[tuple]:
        """Rows (person_id, split, fields) of segment `s` at as_of."""
        if "main.events" not in self._tables():
            self.events([])
        segments = [{"name": "s", "where": where, **segment}]
        segments += [{"name": name, "where": cond} for name, cond in (others or {}).items()]
        self.write_segments(segments)
        loaded = load_project(self.root)
        sql = standalone_query(loaded.config, loaded.segments, "s", as_of).sql("duckdb", identify=True)
        return self.con.execute(sql).fetchall()

    def members(self, where: dict, as_of: dt.datetime = AS_OF, others: Optional[dict[str, dict]] = None) -> set:
        return {row[0] for row in self.query(where, as_of, others)}

    def _tables(self) -> set[str]:
        return {f"{s}.{t}" for s, t in self.con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}

    def reference(self, where: dict, as_of: dt.datetime = AS_OF, others: Optional[dict[str, dict]] = None) -> set:
        return reference.members(where, self.people_rows, self.stream_rows, as_of=as_of, segments=others)


@pytest.fixture
def wh(tmp_path):
    warehouse = Warehouse(tmp_path / "proj")
    yield warehouse
    warehouse.con.close()


def check(wh: Warehouse, where: dict, expected: set, as_of: dt.datetime = AS_OF,
          others: Optional[dict[str, dict]] = None, use_reference: bool = True) -> None:
    """The engine selects exactly `expected`; so does the reference evaluator."""
    if use_reference:
        assert wh.reference(where, as_of, others) == expected, "reference evaluator disagrees with the test"
    actual = wh.members(where, as_of, others)
    assert actual == expected, f"condition {where!r}: expected {sorted(expected)}, engine selected {sorted(actual)}"


# =====================================================================================================
# Groups
# =====================================================================================================

@pytest.fixture
def plans(wh):
    wh.people([{"user_id": 1, "plan": "pro", "age": 30}, {"user_id": 2, "plan": "free", "age": 40},
               {"user_id": 3, "plan": "pro", "age": 50}, {"user_id": 4, "plan": None, "age": None}])
    return wh


def test_all_requires_every_condition(plans):
    check(plans, {"all": [{"attribute": "plan", "equals": "pro"}, {"attribute": "age", "gt": 35}]}, {3})


def test_any_requires_one_condition(plans):
    check(plans, {"any": [{"attribute": "plan", "equals": "free"}, {"attribute": "age", "gte": 50}]}, {2, 3})


def test_none_requires_no_condition(plans):
    check(plans, {"none": [{"attribute": "plan", "equals": "free"}, {"attribute": "age", "gte": 50}]}, {1, 4})


def test_not_negates_and_null_attribute_makes_negation_true(plans):
    # plan equals pro is false (not NULL) for person 4, so not(...) holds for 4
    check(plans, {"not": {"attribute": "plan", "equals": "pro"}}, {2, 4})


def test_groups_nest(plans):
    check(plans, {"any": [{"all": [{"attribute": "plan", "equals": "pro"}, {"not": {"attribute": "age", "lt": 40}}]},
                          {"none": [{"attribute": "plan", "exists": True}]}]}, {3, 4})


def test_not_of_not(plans):
    check(plans, {"not": {"not": {"attribute": "age", "gt": 35}}}, {2, 3})


# =====================================================================================================
# Attribute conditions: equality
# =====================================================================================================

@pytest.fixture
def names(wh):
    wh.people([
        {"user_id": 1, "name": "Ann", "email": "Ann@Gmail.com"},
        {"user_id": 2, "name": "ann", "email": "bob@yahoo.com"},
        {"user_id": 3, "name": "O'Brien", "email": 'say "hi"@mail.com'},
        {"user_id": 4, "name": "100%_sure", "email": "x_y%z@mail.com"},
        {"user_id": 5, "name": "back\\slash", "email": "pipe|plus+star*@mail.com"},
        {"user_id": 6, "name": None, "email": None},
        {"user_id": 7, "name": "", "email": "ANN@GMAIL.COM"},
    ])
    return wh


def test_equals_is_case_sensitive(names):
    check(names, {"attribute": "name", "equals": "Ann"}, {1})


def test_equals_ignore_case(names):
    check(names, {"attribute": "name", "equals": "ANN", "ignore_case": True}, {1, 2})


def test_equals_null_is_false_and_empty_string_is_a_value(names):
    check(names, {"attribute": "name", "equals": ""}, {7})


def test_not_equals_null_is_true(names):
    check(names, {"attribute": "name", "not_equals": "Ann"}, {2, 3, 4, 5, 6, 7})


def test_not_equals_ignore_case_null_is_true(names):
    check(names, {"attribute": "name", "not_equals": "aNN", "ignore_case": True}, {3, 4, 5, 6, 7})


def test_in_null_is_false(names):
    check(names, {"attribute": "name", "in": ["Ann", "O'Brien", "nobody"]}, {1, 3})


def test_in_ignore_case(names):
    check(names, {"attribute": "name", "in": ["ANN", "o'brien"], "ignore_case": True}, {1, 2, 3})


def test_not_in_null_is_true(names):
    check(names, {"attribute": "name", "not_in": ["Ann", "ann"]}, {3, 4, 5, 6, 7})


def test_not_in_ignore_case_null_is_true(names):
    check(names, {"attribute": "name", "not_in": ["ANN", "100%_SURE"], "ignore_case": True}, {3, 5, 6, 7})


def test_literals_with_single_and_double_quotes(names):
    check(names, {"attribute": "name", "equals": "O'Brien"}, {3})
    check(names, {"attribute": "email", "equals": 'say "hi"@mail.com'}, {3})
    check(names, {"attribute": "email", "starts_with": 'say "'}, {3})
    check(names, {"attribute": "name", "contains": "'"}, {3})
    check(names, {"attribute": "name", "ends_with": "'Brien"}, {3})


def test_literal_backslash_in_equals(names):
    check(names, {"attribute": "name", "equals": "back\\slash"}, {5})


def test_percent_and_underscore_are_literal_in_equals_and_prefixes(names):
    check(names, {"attribute": "name", "starts_with": "100%_"}, {4})
    check(names, {"attribute": "name", "starts_with": "1%"}, set())
    check(names, {"attribute": "email", "starts_with": "x_y%"}, {4})
    check(names, {"attribute": "email", "starts_with": "x%"}, set())
    check(names, {"attribute": "email", "ends_with": "_mail.com"}, set())
    check(names, {"attribute": "name", "ends_with": "_sure"}, {4})


# =====================================================================================================
# Attribute conditions: typed literals
# =====================================================================================================

@pytest.fixture
def typed(wh):
    wh.people([
        {"user_id": 1, "age": 20, "score": 1.5, "vip": True, "code": "12", "born": dt.datetime(2000, 1, 1)},
        {"user_id": 2, "age": 30, "score": 2.0, "vip": False, "code": "12.5", "born": dt.datetime(2000, 1, 1, 12)},
        {"user_id": 3, "age": 40, "score": -0.5, "vip": None, "code": "n/a", "born": dt.datetime(1999, 12, 31)},
        {"user_id": 4, "age": None, "score": None, "vip": True, "code": None, "born": None},
    ], score="DOUBLE", code="VARCHAR", born="TIMESTAMP")
    return wh


def test_number_comparisons(typed):
    check(typed, {"attribute": "age", "gt": 20}, {2, 3})
    check(typed, {"attribute": "age", "gte": 20}, {1, 2, 3})
    check(typed, {"attribute": "age", "lt": 30}, {1})
    check(typed, {"attribute": "age", "lte": 30}, {1, 2})
    check(typed, {"attribute": "score", "gt": 1.5}, {2})
    check(typed, {"attribute": "score", "lt": 0}, {3})


def test_number_equality_on_integer_and_double_columns(typed):
    check(typed, {"attribute": "age", "equals": 30}, {2})
    check(typed, {"attribute": "score", "equals": 2}, {2})
    check(typed, {"attribute": "score", "in": [1.5, -0.5]}, {1, 3})
    check(typed, {"attribute": "age", "not_equals": 30}, {1, 3, 4})
    check(typed, {"attribute": "age", "not_in": [20, 40]}, {2, 4})


def test_between_is_inclusive_and_null_false(typed):
    check(typed, {"attribute": "age", "between": [20, 30]}, {1, 2})
    check(typed, {"attribute": "score", "between": [-0.5, 1.5]}, {1, 3})


def test_order_comparisons_with_null_are_false(typed):
    for op in ("gt", "gte", "lt", "lte"):
        check(typed, {"attribute": "age", op: 30}, {"gt": {3}, "gte": {2, 3}, "lt": {1}, "lte": {1, 2}}[op])
    check(typed, {"not": {"attribute": "age", "gt": 0}}, {4})


def test_boolean_equality(typed):
    check(typed, {"attribute": "vip", "equals": True}, {1, 4})
    check(typed, {"attribute": "vip", "equals": False}, {2})
    check(typed, {"attribute": "vip", "not_equals": True}, {2, 3})
    check(typed, {"attribute": "vip", "in": [False]}, {2})
    check(typed, {"attribute": "vip", "not_in": [False]}, {1, 3, 4})


def test_date_comparisons_on_timestamp_column(typed):
    check(typed, {"attribute": "born", "gte": dt.date(2000, 1, 1)}, {1, 2})
    check(typed, {"attribute": "born", "gt": "2000-01-01"}, {2})
    check(typed, {"attribute": "born", "lt": "2000-01-01T00:00:00Z"}, {3})
    check(typed, {"attribute": "born", "between": [dt.date(1999, 12, 31), dt.datetime(2000, 1, 1)]}, {1, 3})
    check(typed, {"attribute": "born", "equals": dt.datetime(2000, 1, 1, 12)}, {2})
    check(typed, {"attribute": "born", "not_equals": dt.date(2000, 1, 1)}, {2, 3, 4})


def test_date_with_offset_is_converted_to_utc(typed):
    # 2000-01-01T13:00:00+01:00 is 12:00 UTC
    check(typed, {"attribute": "born", "equals": dt.datetime(2000, 1, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=1)))},
          {2})
    check(typed, {"attribute": "born", "gte": "2000-01-01T13:00:00+01:00"}, {2})


def test_text_column_compared_with_number_reads_it_as_number(typed):
    # "12" and "12.5" read as numbers; "n/a" cannot be read, so it behaves as NULL
    check(typed, {"attribute": "code", "gt": 12}, {2})
    check(typed, {"attribute": "code", "gte": 12}, {1, 2})
    check(typed, {"attribute": "code", "equals": 12}, {1})
    check(typed, {"attribute": "code", "lt": 100}, {1, 2})
    check(typed, {"attribute": "code", "not_equals": 12}, {2, 3, 4})
    check(typed, {"attribute": "code", "not_in": [12.5]}, {1, 3, 4})


def test_text_column_compared_with_text(typed):
    check(typed, {"attribute": "code", "equals": "12"}, {1})
    check(typed, {"attribute": "code", "in": ["n/a", "12.5"]}, {2, 3})


def test_in_list_mixing_numbers_and_text(typed):
    # each item compares with its own type: 12 as a number, "n/a" as text
    check(typed, {"attribute": "code", "in": [12, "n/a"]}, {1, 3})
    check(typed, {"attribute": "code", "not_in": [12, "n/a"]}, {2, 4})
    check(typed, {"attribute": "code", "in": [12.5, "12"]}, {1, 2})


def test_exists(typed):
    check(typed, {"attribute": "age", "exists": True}, {1, 2, 3})
    check(typed, {"attribute": "age", "exists": False}, {4})
    check(typed, {"attribute": "vip", "exists": False}, {3})


def test_several_operators_must_all_hold(typed):
    check(typed, {"attribute": "age", "gt": 10, "lt": 40, "not_equals": 20}, {2})
    check(typed, {"attribute": "age", "exists": True, "not_in": [30]}, {1, 3})


# =====================================================================================================
# Attribute conditions: text operators and Customer.io patterns
# =====================================================================================================

TEXTS = {
    1: "ann@gmail.com", 2: "bob@yahoo.com", 3: "Winter Sale now", 4: "sale of winter coats", 5: "the winner",
    6: "winer", 7: None, 8: "a and b", 9: "only c", 10: "just b", 11: "a|b", 12: "a+b", 13: "a*b",
    14: "a\\b", 15: "50% off_now", 16: "50 off now", 17: "ab", 18: "a\\d", 19: "it's \"quoted\"",
}


def texts_where(predicate) -> set:
    return {k for k, t in TEXTS.items() if t is not None and predicate(t)}


@pytest.fixture
def texts(wh):
    wh.people([{"user_id": k, "t": t} for k, t in TEXTS.items()], t="VARCHAR")
    return wh


def test_contains_alternatives(texts):
    check(texts, {"attribute": "t", "contains": "gmail|yahoo"}, {1, 2})


def test_contains_plus_needs_every_part_in_any_order(texts):
    check(texts, {"attribute": "t", "contains": "winter+sale"}, {4})
    check(texts, {"attribute": "t", "contains": "winter+sale", "ignore_case": True}, {3, 4})


def test_contains_star_matches_any_run(texts):
    check(texts, {"attribute": "t", "contains": "win*er"}, {4, 5, 6})  # "Winter" is upper-case
    check(texts, {"attribute": "t", "contains": "win*er", "ignore_case": True}, {3, 4, 5, 6})
    check(texts, {"attribute": "t", "contains": "winn*er"}, {5})


def test_contains_plus_binds_tighter_than_pipe(texts):
    # a+b|c is (a and b) or c
    matched = texts_where(lambda t: ("a" in t and "b" in t) or "c" in t)
    assert matched == {1, 2, 4, 8, 9, 11, 12, 13, 14, 17}
    check(texts, {"attribute": "t", "contains": "a+b|c"}, matched)


def test_contains_escapes(texts):
    check(texts, {"attribute": "t", "contains": "a\\|b"}, {11})
    check(texts, {"attribute": "t", "contains": "a\\+b"}, {12})
    check(texts, {"attribute": "t", "contains": "a\\*b"}, {13})
    check(texts, {"attribute": "t", "contains": "a\\\\b"}, {14})


def test_contains_backslash_before_other_character_is_literal(texts):
    check(texts, {"attribute": "t", "contains": "a\\d"}, {18})


def test_contains_sql_wildcards_are_literal(texts):
    check(texts, {"attribute": "t", "contains": "0%"}, {15})
    check(texts, {"attribute": "t", "contains": "f_n"}, {15})
    check(texts, {"attribute": "t", "contains": "_"}, {15})
    check(texts, {"attribute": "t", "contains": "%"}, {15})


def test_contains_quotes(texts):
    check(texts, {"attribute": "t", "contains": "'s \""}, {19})


def test_contains_null_is_false_not_contains_null_is_true(texts):
    check(texts, {"attribute": "t", "contains": "gmail|yahoo"}, {1, 2})
    without_a = set(TEXTS) - texts_where(lambda t: "a" in t)
    assert without_a == {5, 6, 7, 9, 10, 15, 16, 19}
    check(texts, {"attribute": "t", "not_contains": "a"}, without_a)
    check(texts, {"attribute": "t", "not_contains": "a", "ignore_case": True}, without_a)


def test_not_contains_patterns(texts):
    everyone = set(range(1, 20))
    check(texts, {"attribute": "t", "not_contains": "gmail|yahoo"}, everyone - {1, 2})
    check(texts, {"attribute": "t", "not_contains": "winter+sale"}, everyone - {4})
    check(texts, {"attribute": "t", "not_contains": "WIN*ER", "ignore_case": True}, everyone - {3, 4, 5, 6})


def test_starts_and_ends_with(texts):
    check(texts, {"attribute": "t", "starts_with": "win"}, {6})
    check(texts, {"attribute": "t", "starts_with": "WIN", "ignore_case": True}, {3, 6})
    check(texts, {"attribute": "t", "ends_with": ".com"}, {1, 2})
    check(texts, {"attribute": "t", "ends_with": "*b"}, {13})
    check(texts, {"attribute": "t", "starts_with": "a|"}, {11})
    check(texts, {"attribute": "t", "ends_with": "\\b"}, {14})
    check(texts, {"attribute": "t", "ends_with": "NOW", "ignore_case": True}, {3, 15, 16})
    check(texts, {"not": {"attribute": "t", "starts_with": "a"}}, set(TEXTS) - texts_where(lambda t: t[0:1] == "a"))


def test_matches_regex_search(texts):
    check(texts, {"attribute": "t", "matches": "^[a-z]+@(gmail|yahoo)\\.com$"}, {1, 2})
    check(texts, {"attribute": "t", "matches": "\\d+%"}, {15})
    check(texts, {"attribute": "t", "matches": "win+er"}, {5, 6})
    check(texts, {"not": {"attribute": "t", "matches": "."}}, {7})


# =====================================================================================================
# Attribute conditions: relative time
# =====================================================================================================

@pytest.fixture
def times(wh):
    wh.people([
        {"user_id": 1, "at": AS_OF},
        {"user_id": 2, "at": AS_OF - 7 * DAY},
        {"user_id": 3, "at": AS_OF - 7 * DAY + MICRO},
        {"user_id": 4, "at": AS_OF - 7 * DAY - MICRO},
        {"user_id": 5, "at": AS_OF + MICRO},
        {"user_id": 6, "at": AS_OF + 7 * DAY},
        {"user_id": 7, "at": AS_OF + 7 * DAY + MICRO},
        {"user_id": 8, "at": None},
    ], at="TIMESTAMP")
    return wh


def test_within_excludes_lower_bound_includes_as_of(times):
    check(times, {"attribute": "at", "within": "7d"}, {1, 3})
    check(times, {"attribute": "at", "within": "1w"}, {1, 3})
    check(times, {"attribute": "at", "within": "168h"}, {1, 3})


def test_older_than_includes_boundary(times):
    check(times, {"attribute": "at", "older_than": "7d"}, {2, 4})
    check(times, {"attribute": "at", "older_than": "10080m"}, {2, 4})


def test_within_next_excludes_as_of_includes_upper_bound(times):
    check(times, {"attribute": "at", "within_next": "7d"}, {5, 6})


def test_relative_time_null_is_false(times):
    check(times, {"not": {"any": [{"attribute": "at", "within": "30d"}, {"attribute": "at", "older_than": "1d"},
                                  {"attribute": "at", "within_next": "30d"}]}}, {8})


def test_relative_time_follows_as_of(times):
    check(times, {"attribute": "at", "within": "1d"}, {6}, as_of=AS_OF + 7 * DAY)
    check(times, {"attribute": "at", "older_than": "7d"}, {1, 2, 3, 4, 5}, as_of=AS_OF + 7 * DAY + MICRO)


# =====================================================================================================
# Stream conditions: names and patterns
# =====================================================================================================

def _event(user, name, at=AS_OF - DAY, **props):
    return {"user_id": user, "event_name": name, "occurred_at": at, "properties": props or None}


@pytest.fixture
def named(wh):
    wh.people([{"user_id": i} for i in range(1, 11)])
    wh.events([
        _event(1, "add_to_cart"),
        _event(2, "checkout_started"),
        _event(3, "Add_To_Cart"),
        _event(4, "/shop/winter/coats"),
        _event(5, "/winter/"),
        _event(6, "/shop/winter"),
        _event(7, "a+b"),
        _event(8, "a|b"),
        _event(9, "add_to_cart_v2"),
        _event(10, None),
    ])
    return wh


def test_stream_name_exact_and_case_sensitive(named):
    check(named, {"event": "add_to_cart"}, {1})


def test_stream_name_alternatives(named):
    check(named, {"event": "add_to_cart|checkout_started"}, {1, 2})


def test_stream_name_glob_is_anchored(named):
    check(named, {"event": "*/winter/*"}, {4, 5})
    check(named, {"event": "add_to_cart*"}, {1, 9})
    check(named, {"event": "*cart"}, {1})
    check(named, {"event": "*"}, set(range(1, 10)))


def test_stream_name_plus_is_literal(named):
    check(named, {"event": "a+b"}, {7})


def test_stream_name_escapes(named):
    check(named, {"event": "a\\|b"}, {8})
    check(named, {"event": "a\\+b"}, {7})


def test_stream_name_null_matches_every_row(named):
    check(named, {"event": None}, set(range(1, 11)))


def test_stream_name_sql_wildcards_are_literal(wh):
    wh.people([{"user_id": i} for i in range(1, 5)])
    wh.events([_event(1, "a_c"), _event(2, "abc"), _event(3, "a%c"), _event(4, "axxc")])
    check(wh, {"event": "a_c"}, {1})
    check(wh, {"event": "a%c"}, {3})
    check(wh, {"event": "a*c"}, {1, 2, 3, 4})


# =====================================================================================================
# Stream conditions: windows and as_of
# =====================================================================================================

@pytest.fixture
def timeline(wh):
    wh.people([{"user_id": i} for i in range(1, 9)])
    wh.events([
        _event(1, "buy", AS_OF),
        _event(2, "buy", AS_OF - 7 * DAY),
        _event(3, "buy", AS_OF - 7 * DAY + MICRO),
        _event(4, "buy", AS_OF - 7 * DAY - MICRO),
        _event(5, "buy", AS_OF + MICRO),
        _event(6, "buy", AS_OF + 30 * DAY),
        _event(7, "buy", AS_OF - 400 * DAY),
    ])
    return wh


def test_window_within(timeline):
    check(timeline, {"event": "buy", "within": "7d"}, {1, 3})


def test_window_older_than(timeline):
    check(timeline, {"event": "buy", "older_than": "7d"}, {2, 4, 7})


def test_no_window_means_all_time_up_to_as_of(timeline):
    check(timeline, {"event": "buy"}, {1, 2, 3, 4, 7})


def test_rows_after_as_of_never_match(timeline):
    check(timeline, {"event": "buy", "performed": False}, {5, 6, 8})
    check(timeline, {"event": "buy", "count": {"equals": 0}}, {5, 6, 8})
    check(timeline, {"event": "buy", "since": AS_OF - DAY}, {1})
    check(timeline, {"event": "buy", "within": "365d", "count": {"lte": 1}}, set(range(1, 9)))
    check(timeline, {"event": "buy", "within": "365d", "count": {"equals": 1}}, {1, 2, 3, 4})


def test_window_since_is_inclusive_until_exclusive(timeline):
    check(timeline, {"event": "buy", "since": AS_OF - 7 * DAY}, {1, 2, 3})
    check(timeline, {"event": "buy", "until": AS_OF - 7 * DAY}, {4, 7})
    check(timeline, {"event": "buy", "until": AS_OF + 365 * DAY}, {1, 2, 3, 4, 7})


def test_window_since_and_until_as_yaml_dates_and_strings(timeline):
    check(timeline, {"event": "buy", "since": (AS_OF - 7 * DAY).date()}, {1, 2, 3})
    check(timeline, {"event": "buy", "since": "2026-10-25T00:00:00Z"}, {1, 2, 3})
    check(timeline, {"event": "buy", "until": "2026-10-25"}, {4, 7})


def test_window_keys_intersect(timeline):
    check(timeline, {"event": "buy", "within": "30d", "older_than": "7d"}, {2, 4})
    check(timeline, {"event": "buy", "within": "30d", "until": AS_OF - 7 * DAY + MICRO}, {2, 4})
    check(timeline, {"event": "buy", "since": AS_OF - 7 * DAY, "older_than": "7d"}, {2})


def test_window_follows_as_of(timeline):
    check(timeline, {"event": "buy", "within": "7d"}, {1, 5}, as_of=AS_OF + DAY)
    check(timeline, {"event": "buy", "within": "31d"}, {1, 5, 6}, as_of=AS_OF + 30 * DAY)


def test_window_bounds_written_with_an_offset(timeline):
    # 2026-10-25T02:00:00+02:00 is 2026-10-25T00:00:00Z = as_of - 7d
    check(timeline, {"event": "buy", "since": "2026-10-25T02:00:00+02:00"}, {1, 2, 3})
    check(timeline, {"event": "buy", "until": "2026-10-25T02:00:00+02:00"}, {4, 7})


def test_stream_conditions_through_segment_tests(make_project):
    """The same rules through `segwarehouse test` (SPEC section 10), with types inferred from YAML."""
    project = make_project({"s.yml": """\
        name: lapsed_buyers
        where:
          all:
            - event: purchase
              where: {properties.amount: {gte: 50}}
              older_than: 30d
            - event: purchase
              within: 30d
              performed: false
        tests:
          - name: boundaries
            as_of: 2026-11-01T00:00:00Z
            given:
              people: [{user_id: 1}, {user_id: 2}, {user_id: 3}, {user_id: 4}]
              event:
                - {user_id: 1, event_name: purchase, occurred_at: 2026-10-02T00:00:00Z, properties: {amount: 60}}
                - {user_id: 2, event_name: purchase, occurred_at: 2026-10-02T00:00:01Z, properties: {amount: 60}}
                - {user_id: 3, event_name: purchase, occurred_at: 2026-09-01T00:00:00Z, properties: {amount: "75"}}
                - {user_id: 3, event_name: purchase, occurred_at: 2026-11-01T00:00:01Z, properties: {amount: 1}}
                - {user_id: 4, event_name: purchase, occurred_at: 2026-09-01T00:00:00Z, properties: {amount: n/a}}
                - {user_id: 9, event_name: purchase, occurred_at: 2026-09-01T00:00:00Z, properties: {amount: 99}}
            expect: [1, 3]
        """})
    results = project.test()
    assert [(r.passed, r.actual, r.error) for r in results] == [(True, [1, 3], None)]


# =====================================================================================================
# Stream conditions: where filters
# =====================================================================================================

@pytest.fixture
def orders(wh):
    wh.people([{"user_id": i} for i in range(1, 10)])
    wh.events([
        {"user_id": 1, "event_name": "purchase", "occurred_at": AS_OF - DAY, "channel": "web",
         "properties": {"amount": 60, "category": "coats"}},
        {"user_id": 2, "event_name": "purchase", "occurred_at": AS_OF - DAY, "channel": "app",
         "properties": {"amount": "12.5", "category": "boots"}},
        {"user_id": 3, "event_name": "purchase", "occurred_at": AS_OF - DAY, "channel": "Web",
         "properties": {"amount": "n/a", "category": "Coats"}},
        {"user_id": 4, "event_name": "purchase", "occurred_at": AS_OF - DAY, "channel": None,
         "properties": {"amount": None, "category": None}},
        {"user_id": 5, "event_name": "purchase", "occurred_at": AS_OF - DAY, "channel": "web",
         "properties": {"category": "winter 50%_off"}},
        {"user_id": 6, "event_name": "purchase", "occurred_at": AS_OF - DAY, "channel": "web",
         "properties": None},
        {"user_id": 7, "event_name": "purchase", "occurred_at": AS_OF - DAY, "channel": "web",
         "properties": {"amount": True, "gift": True, "category": "it's"}},
        {"user_id": 8, "event_name": "purchase", "occurred_at": AS_OF - DAY, "channel": "web",
         "properties": {"amount": 49.5, "gift": False, "category": "coats"}},
    ], channel="VARCHAR")
    return wh


def test_where_plain_column_scalar_and_list(orders):
    check(orders, {"event": "purchase", "where": {"channel": "web"}}, {1, 5, 6, 7, 8})
    check(orders, {"event": "purchase", "where": {"channel": ["app", "Web"]}}, {2, 3})
    check(orders, {"event": "purchase", "where": {"channel": {"equals": "WEB", "ignore_case": True}}},
          {1, 3, 5, 6, 7, 8})


def test_where_json_number_reads_numbers_and_numeric_strings(orders):
    check(orders, {"event": "purchase", "where": {"properties.amount": {"gte": 50}}}, {1})
    check(orders, {"event": "purchase", "where": {"properties.amount": {"gt": 12}}}, {1, 2, 8})
    check(orders, {"event": "purchase", "where": {"properties.amount": 12.5}}, {2})
    check(orders, {"event": "purchase", "where": {"properties.amount": [60, 49.5]}}, {1, 8})
    check(orders, {"event": "purchase", "where": {"properties.amount": {"between": [12.5, 49.5]}}}, {2, 8})


def test_where_json_value_that_is_not_a_number_does_not_match(orders):
    # "n/a", null, missing, true: none of them is a number
    check(orders, {"event": "purchase", "where": {"properties.amount": {"lt": 1000}}}, {1, 2, 8})
    check(orders, {"event": "purchase", "where": {"properties.amount": {"gte": -1000}}}, {1, 2, 8})


def test_where_json_not_equals_on_unreadable_value_is_true(orders):
    # a value that can't be read as a number compares as NULL: not_equals holds
    check(orders, {"event": "purchase", "where": {"properties.amount": {"not_equals": 60}}}, {2, 3, 4, 5, 6, 7, 8})
    check(orders, {"event": "purchase", "where": {"properties.amount": {"not_in": [60, 12.5]}}}, {3, 4, 5, 6, 7, 8})


def test_where_json_text(orders):
    check(orders, {"event": "purchase", "where": {"properties.category": ["coats", "boots"]}}, {1, 2, 8})
    check(orders, {"event": "purchase", "where": {"properties.category": "coats"}}, {1, 8})
    check(orders, {"event": "purchase", "where": {"properties.category": {"equals": "COATS", "ignore_case": True}}},
          {1, 3, 8})
    check(orders, {"event": "purchase", "where": {"properties.category": {"starts_with": "winter"}}}, {5})
    check(orders, {"event": "purchase", "where": {"properties.category": {"contains": "0%_"}}}, {5})
    check(orders, {"event": "purchase", "where": {"properties.category": {"contains": "it's"}}}, {7})
    check(orders, {"event": "purchase", "where": {"properties.category": {"not_equals": "coats"}}}, {2, 3, 4, 5, 6, 7})
    check(orders, {"event": "purchase", "where": {"properties.category": {"exists": False}}}, {4, 6})


def test_where_json_boolean(orders):
    check(orders, {"event": "purchase", "where": {"properties.gift": True}}, {7})
    check(orders, {"event": "purchase", "where": {"properties.gift": False}}, {8})


def test_where_filters_all_hold(orders):
    check(orders, {"event": "purchase", "where": {"channel": "web", "properties.category": "coats",
                                                  "properties.amount": {"gte": 50}}}, {1})


def test_where_filter_with_quotes_in_value(orders):
    check(orders, {"event": "purchase", "where": {"properties.category": "it's"}}, {7})


# =====================================================================================================
# Stream conditions: aggregates
# =====================================================================================================

@pytest.fixture
def baskets(wh):
    """1: three purchases 10/20/30; 2: one purchase "n/a"; 3: one purchase 100 long ago; 4: nothing;
    5: a purchase after as_of only; orphan rows for 99."""
    wh.people([{"user_id": i} for i in range(1, 6)])
    wh.events([
        _event(1, "purchase", AS_OF - 1 * DAY, amount=10),
        _event(1, "purchase", AS_OF - 2 * DAY, amount=20),
        _event(1, "purchase", AS_OF - 3 * DAY, amount="30"),
        _event(2, "purchase", AS_OF - 1 * DAY, amount="n/a"),
        _event(3, "purchase", AS_OF - 100 * DAY, amount=100),
        _event(5, "purchase", AS_OF + DAY, amount=1000),
        _event(99, "purchase", AS_OF - DAY, amount=5),
        _event(99, "purchase", AS_OF - DAY, amount=5),
    ])
    return wh


def test_default_count_is_at_least_one(baskets):
    check(baskets, {"event": "purchase"}, {1, 2, 3})


def test_count_comparisons(baskets):
    check(baskets, {"event": "purchase", "count": {"gte": 3}}, {1})
    check(baskets, {"event": "purchase", "count": {"equals": 1}}, {2, 3})
    check(baskets, {"event": "purchase", "count": {"between": [1, 2]}}, {2, 3})
    check(baskets, {"event": "purchase", "count": {"not_equals": 1}}, {1, 4, 5})
    check(baskets, {"event": "purchase", "count": {"in": [0, 3]}}, {1, 4, 5})
    check(baskets, {"event": "purchase", "count": {"not_in": [0]}}, {1, 2, 3})
    check(baskets, {"event": "purchase", "count": {"lt": 2}}, {2, 3, 4, 5})


def test_count_zero_and_performed_false_include_people_without_rows(baskets):
    check(baskets, {"event": "purchase", "count": {"equals": 0}}, {4, 5})
    check(baskets, {"event": "purchase", "performed": False}, {4, 5})
    check(baskets, {"event": "purchase", "within": "30d", "performed": False}, {3, 4, 5})
    check(baskets, {"event": "refund", "performed": False}, {1, 2, 3, 4, 5})
    check(baskets, {"event": "purchase", "performed": True}, {1, 2, 3})


def test_orphan_rows_belong_to_nobody(baskets):
    check(baskets, {"event": "purchase", "where": {"properties.amount": 5}}, set())
    check(baskets, {"event": "purchase", "where": {"properties.amount": 5}, "performed": False}, {1, 2, 3, 4, 5})


def test_sum(baskets):
    check(baskets, {"event": "purchase", "sum": {"of": "properties.amount", "gte": 60}}, {1, 3})
    check(baskets, {"event": "purchase", "sum": {"of": "properties.amount", "equals": 60}}, {1})


def test_sum_of_no_rows_is_zero_and_default_count_does_not_apply(baskets):
    check(baskets, {"event": "purchase", "sum": {"of": "properties.amount", "equals": 0}}, {2, 4, 5})
    check(baskets, {"event": "purchase", "sum": {"of": "properties.amount", "lt": 50}}, {2, 4, 5})
    check(baskets, {"event": "purchase", "within": "30d", "sum": {"of": "properties.amount", "lte": 0}}, {2, 3, 4, 5})
    check(baskets, {"event": "purchase", "sum": {"of": "properties.amount", "not_equals": 60}}, {2, 3, 4, 5})


def test_avg_min_max(baskets):
    check(baskets, {"event": "purchase", "avg": {"of": "properties.amount", "equals": 20}}, {1})
    check(baskets, {"event": "purchase", "min": {"of": "properties.amount", "equals": 10}}, {1})
    check(baskets, {"event": "purchase", "max": {"of": "properties.amount", "gte": 30}}, {1, 3})
    check(baskets, {"event": "purchase", "max": {"of": "properties.amount", "lt": 50}}, {1})


@pytest.mark.parametrize("agg", ["avg", "min", "max"])
def test_avg_min_max_of_no_rows_are_false(baskets, agg):
    # person 2 has only a non-numeric amount; 4 and 5 have no rows: NULL, every comparison false
    check(baskets, {"event": "purchase", agg: {"of": "properties.amount", "lt": 1000}}, {1, 3})
    check(baskets, {"not": {"event": "purchase", agg: {"of": "properties.amount", "gte": -1000}}}, {2, 4, 5})


@pytest.mark.parametrize("agg", ["avg", "min", "max"])
@pytest.mark.parametrize("op", [{"not_equals": -1}, {"not_in": [-1, -2]}])
def test_avg_min_max_of_no_rows_fail_negative_comparisons_too(baskets, agg, op):
    # SPEC 4 stream rule 3: "avg, min, max ... of no rows are NULL and their comparisons are false"
    # - unlike an attribute, where not_equals/not_in of NULL is true
    check(baskets, {"event": "purchase", agg: {"of": "properties.amount", **op}}, {1, 3})


def test_first_and_last(baskets):
    check(baskets, {"event": "purchase", "first": {"within": "7d"}}, {1, 2})
    check(baskets, {"event": "purchase", "first": {"older_than": "2d"}}, {1, 3})
    check(baskets, {"event": "purchase", "last": {"within": "2d"}}, {1, 2})
    check(baskets, {"event": "purchase", "last": {"older_than": "30d"}}, {3})
    check(baskets, {"event": "purchase", "last": {"gte": AS_OF - DAY}}, {1, 2})
    check(baskets, {"event": "purchase", "first": {"between": [AS_OF - 3 * DAY, AS_OF]}}, {1, 2})


def test_first_and_last_of_no_rows_are_false(baskets):
    check(baskets, {"event": "purchase", "last": {"lt": AS_OF + 365 * DAY}}, {1, 2, 3})
    check(baskets, {"event": "purchase", "first": {"gt": AS_OF - 3650 * DAY}}, {1, 2, 3})
    check(baskets, {"not": {"event": "purchase", "last": {"older_than": "1m"}}}, {4, 5})
    check(baskets, {"event": "purchase", "last": {"within_next": "30d"}}, set())


def test_several_aggregates_all_required(baskets):
    check(baskets, {"event": "purchase", "count": {"gte": 1}, "sum": {"of": "properties.amount", "lt": 100}}, {1, 2})
    check(baskets, {"event": "purchase", "count": {"lte": 1}, "sum": {"of": "properties.amount", "lt": 100}}, {2, 4, 5})
    check(baskets, {"event": "purchase", "performed": False, "sum": {"of": "properties.amount", "equals": 0}}, {4, 5})
    check(baskets, {"event": "purchase", "avg": {"of": "properties.amount", "gte": 20},
                    "last": {"within": "7d"}}, {1})


def test_sum_of_only_unreadable_rows_is_zero(wh):
    wh.people([{"user_id": 1}, {"user_id": 2}])
    wh.events([_event(1, "p", amount="n/a"), _event(1, "p", amount=""), _event(2, "p", amount="7")])
    check(wh, {"event": "p", "sum": {"of": "properties.amount", "equals": 0}}, {1})
    check(wh, {"event": "p", "sum": {"of": "properties.amount", "equals": 7}}, {2})
    check(wh, {"event": "p", "count": {"equals": 2}, "sum": {"of": "properties.amount", "equals": 0}}, {1})


def test_aggregate_of_plain_column(wh):
    wh.people([{"user_id": 1}, {"user_id": 2}, {"user_id": 3}])
    wh.events([{"user_id": 1, "event_name": "p", "occurred_at": AS_OF - DAY, "qty": 2},
               {"user_id": 1, "event_name": "p", "occurred_at": AS_OF - DAY, "qty": None},
               {"user_id": 2, "event_name": "p", "occurred_at": AS_OF - DAY, "qty": None}], qty="BIGINT")
    check(wh, {"event": "p", "sum": {"of": "qty", "equals": 2}}, {1})
    check(wh, {"event": "p", "sum": {"of": "qty", "equals": 0}}, {2, 3})
    check(wh, {"event": "p", "max": {"of": "qty", "gte": 0}}, {1})


def test_count_of_several_streams_conditions_are_independent(baskets):
    check(baskets, {"all": [{"event": "purchase", "within": "7d"}, {"event": "purchase", "older_than": "7d",
                                                                     "performed": False}]}, {1, 2})


def test_rows_without_timestamp_or_key_never_match(wh):
    wh.people([{"user_id": 1}, {"user_id": 2}])
    wh.events([{"user_id": 1, "event_name": "p", "occurred_at": None},
                {"user_id": None, "event_name": "p", "occurred_at": AS_OF - DAY},
                {"user_id": 2, "event_name": "p", "occurred_at": AS_OF - DAY}])
    check(wh, {"event": "p"}, {2})
    check(wh, {"event": None, "performed": False}, {1})


def test_nested_json_path(wh):
    wh.people([{"user_id": 1}, {"user_id": 2}, {"user_id": 3}])
    wh.events([_event(1, "p", item={"price": 30, "sku": "A-1"}), _event(2, "p", item={"price": "5"}),
               _event(3, "p", item="flat")])
    check(wh, {"event": "p", "where": {"properties.item.price": {"gte": 5}}}, {1, 2})
    check(wh, {"event": "p", "where": {"properties.item.sku": "A-1"}}, {1})
    check(wh, {"event": "p", "sum": {"of": "properties.item.price", "gt": 0}}, {1, 2})


def test_regex_metacharacters_are_literal_in_patterns(wh):
    values = {1: "v1.2(beta)", 2: "v1x2(beta)", 3: "[x]^$?", 4: "a.b", 5: "axb"}
    wh.people([{"user_id": k, "t": v} for k, v in values.items()])
    wh.events([_event(k, v) for k, v in values.items()])
    check(wh, {"attribute": "t", "contains": "1.2("}, {1})
    check(wh, {"attribute": "t", "contains": "[x]^$?"}, {3})
    check(wh, {"attribute": "t", "contains": "a.b|^"}, {3, 4})
    check(wh, {"event": "v1.2(*"}, {1})
    check(wh, {"event": "a.b"}, {4})
    check(wh, {"event": "[x]^$?|a.*"}, {3, 4})


def test_duration_units(wh):
    wh.people([{"user_id": 1, "at": AS_OF - dt.timedelta(minutes=15)},
               {"user_id": 2, "at": AS_OF - dt.timedelta(minutes=15) + MICRO},
               {"user_id": 3, "at": AS_OF - dt.timedelta(hours=12)},
               {"user_id": 4, "at": AS_OF - dt.timedelta(weeks=2)},
               {"user_id": 5, "at": AS_OF - dt.timedelta(weeks=2) + MICRO}], at="TIMESTAMP")
    check(wh, {"attribute": "at", "within": "15m"}, {2})
    check(wh, {"attribute": "at", "within": "12h"}, {1, 2})
    check(wh, {"attribute": "at", "older_than": "12h"}, {3, 4, 5})
    check(wh, {"attribute": "at", "within": "2w"}, {1, 2, 3, 5})


def test_second_stream_and_spec_glob_example(tmp_path):
    project_yml = PROJECT_YML + "  page_view: {table: main.page_views, key: user_id, timestamp: viewed_at, name: url}\n"
    wh = Warehouse(tmp_path / "two", project_yml)
    wh.people([{"user_id": i} for i in range(1, 5)])
    wh.events([_event(1, "add_to_cart"), _event(2, "checkout_started"), _event(3, "purchase")])
    pages = [{"user_id": 1, "viewed_at": AS_OF - DAY, "url": "/shop/winter/coats"},
             {"user_id": 2, "viewed_at": AS_OF - DAY, "url": "/winter"},
             {"user_id": 3, "viewed_at": AS_OF - 10 * DAY, "url": "/shop/winter/boots"},
             {"user_id": 4, "viewed_at": AS_OF - DAY, "url": "/shop/Winter/boots"}]
    wh.table("main.page_views", pages, {"user_id": "BIGINT", "viewed_at": "TIMESTAMP", "url": "VARCHAR"})
    wh.stream_rows["page_view"] = pages
    streams = {**reference.DEFAULT_STREAMS, "page_view": reference.StreamDef("user_id", "viewed_at", "url")}

    def both(where):
        expected = reference.members(where, wh.people_rows, wh.stream_rows, as_of=AS_OF, stream_defs=streams)
        return expected, wh.members(where)

    assert both({"page_view": "*/winter/*"}) == ({1, 3}, {1, 3})
    assert both({"page_view": "*/winter/*", "within": "7d"}) == ({1}, {1})
    assert both({"all": [{"page_view": "*/winter/*"}, {"event": "add_to_cart|checkout_started"}]}) == ({1}, {1})
    assert both({"any": [{"page_view": "*/winter/*", "count": {"gte": 2}},
                         {"event": "add_to_cart|checkout_started", "performed": False}]}) == ({3, 4}, {3, 4})
    wh.con.close()


def test_sql_condition_beside_stream_conditions(baskets):
    baskets.people([{"user_id": i, "age": 10 * i} for i in range(1, 6)])
    assert baskets.members({"all": [{"sql": "age >= 30"}, {"event": "purchase"}]}) == {3}
    assert baskets.members({"any": [{"sql": "age >= 40"}, {"event": "purchase", "count": {"gte": 3}}]}) == {1, 4, 5}


# =====================================================================================================
# Typing: large integers, booleans, timestamps written as text
# =====================================================================================================

def test_large_integers_compare_exactly(wh):
    # 2**53 + 1 has no exact double: comparing through DOUBLE confuses it with 2**53
    wh.people([{"user_id": 1, "ext": 2 ** 53}, {"user_id": 2, "ext": 2 ** 53 + 1}, {"user_id": 3, "ext": None}],
              ext="BIGINT")
    check(wh, {"attribute": "ext", "equals": 2 ** 53 + 1}, {2})
    check(wh, {"attribute": "ext", "in": [2 ** 53 + 1]}, {2})
    check(wh, {"attribute": "ext", "gt": 2 ** 53}, {2})
    check(wh, {"attribute": "ext", "not_equals": 2 ** 53}, {2, 3})


def test_large_integer_literal_against_fractional_values(wh):
    # a bound beyond 2**53 must not round the value it is compared with: -0.4 is below 0, 12.5 below 13
    big = 2 ** 53 + 1
    wh.people([{"user_id": 1, "x": -0.4, "t": "-0.4"}, {"user_id": 2, "x": 0.4, "t": "0.4"},
               {"user_id": 3, "x": 12.5, "t": "12.5"}, {"user_id": 4, "x": None, "t": "n/a"}],
              x="DOUBLE", t="VARCHAR")
    for column in ("x", "t"):
        check(wh, {"attribute": column, "between": [0, big]}, {2, 3})
        check(wh, {"attribute": column, "between": [13, big]}, set())
        check(wh, {"attribute": column, "between": [-big, 12]}, {1, 2})
        check(wh, {"attribute": column, "gt": -big, "lt": 0}, {1})


def test_very_large_doubles_compare_with_large_integers(wh):
    big = 2 ** 53 + 1
    wh.people([{"user_id": 1, "x": 1e300}, {"user_id": 2, "x": -1e300}, {"user_id": 3, "x": 1.0}], x="DOUBLE")
    check(wh, {"attribute": "x", "gte": big}, {1})
    check(wh, {"attribute": "x", "lt": -big}, {2})
    check(wh, {"attribute": "x", "not_equals": big}, {1, 2, 3})


def test_large_integers_in_json_compare_exactly(wh):
    wh.people([{"user_id": i} for i in range(1, 4)])
    wh.events([_event(1, "p", id=2 ** 53 + 1), _event(2, "p", id=2 ** 53), _event(3, "p", id=str(2 ** 53 + 1))])
    check(wh, {"event": "p", "where": {"properties.id": 2 ** 53 + 1}}, {1, 3})
    check(wh, {"event": "p", "where": {"properties.id": {"gt": 2 ** 53}}}, {1, 3})
    check(wh, {"event": "p", "max": {"of": "properties.id", "equals": 2 ** 53 + 1}}, {1, 3})
    check(wh, {"event": "p", "sum": {"of": "properties.id", "equals": 2 ** 53}}, {2})


def test_properties_as_json_text_and_malformed_json_never_abort(wh):
    # warehouses often keep JSON as text; a row whose text is not JSON has no readable property
    # (SPEC 4 rule 5: "a value that can't be read as that type does not match (it never aborts the run)")
    wh.people([{"user_id": i} for i in range(1, 4)])
    wh.events([{"user_id": 1, "event_name": "p", "occurred_at": AS_OF - DAY, "properties": '{"a": 5}'},
               {"user_id": 2, "event_name": "p", "occurred_at": AS_OF - DAY, "properties": "not json"},
               {"user_id": 3, "event_name": "p", "occurred_at": AS_OF - DAY, "properties": '{"a": "n/a"}'}],
              properties="VARCHAR")
    check(wh, {"event": "p", "where": {"properties.a": 5}}, {1})
    check(wh, {"event": "p", "where": {"properties.a": {"not_equals": 5}}}, {2, 3})
    check(wh, {"event": "p", "sum": {"of": "properties.a", "equals": 0}}, {2, 3})
    check(wh, {"event": "p"}, {1, 2, 3})


def test_json_boolean_compares_only_with_json_booleans(wh):
    wh.people([{"user_id": i} for i in range(1, 6)])
    wh.events([_event(1, "p", gift=True), _event(2, "p", gift=False), _event(3, "p", gift=1),
               _event(4, "p", gift=0), _event(5, "p", gift="yes")])
    check(wh, {"event": "p", "where": {"properties.gift": True}}, {1})
    check(wh, {"event": "p", "where": {"properties.gift": False}}, {2})
    check(wh, {"event": "p", "where": {"properties.gift": 1}}, {3})


def test_conditions_differing_only_in_true_and_1_stay_apart(wh):
    # `where: {properties.gift: true}` and `where: {properties.gift: 1}` are different conditions (a boolean
    # literal reads a boolean, a number a number: SPEC 4 rule 5), also when they share one segment or run.
    # The data holds only JSON booleans, so the answer does not depend on how 1 reads as a boolean.
    wh.people([{"user_id": 1}, {"user_id": 2}, {"user_id": 3}])
    wh.events([_event(1, "p", gift=True), _event(2, "p", gift=False)])
    is_true = {"event": "p", "where": {"properties.gift": True}}
    is_one = {"event": "p", "where": {"properties.gift": 1}}
    check(wh, is_true, {1})
    check(wh, is_one, set())
    check(wh, {"all": [is_true, {"not": is_one}]}, {1})
    check(wh, {"any": [is_one, is_true]}, {1})
    check(wh, {"all": [{"segment": "trues"}, {"none": [{"segment": "ones"}]}]}, {1},
          others={"ones": is_one, "trues": is_true})
    is_false = {"event": "p", "where": {"properties.gift": False}}
    is_zero = {"event": "p", "where": {"properties.gift": 0}}
    check(wh, {"all": [is_false, {"not": is_zero}]}, {2})


def test_timestamps_written_as_text_with_an_offset_are_converted_to_utc(wh):
    # "2026-11-01T00:30:00+01:00" is 2026-10-31T23:30:00Z: within the hour before as_of
    wh.people([{"user_id": 1, "s": "2026-11-01T00:30:00+01:00"}, {"user_id": 2, "s": "2026-10-31T23:30:00Z"},
               {"user_id": 3, "s": "2026-11-01T00:30:00Z"}, {"user_id": 4, "s": "soon"}], s="VARCHAR")
    wh.events([_event(k, "p", when=row["s"]) for k, row in enumerate(wh.people_rows, start=1)])
    check(wh, {"attribute": "s", "within": "1h"}, {1, 2})
    check(wh, {"attribute": "s", "within_next": "1h"}, {3})
    check(wh, {"attribute": "s", "equals": dt.datetime(2026, 10, 31, 23, 30)}, {1, 2})
    check(wh, {"event": "p", "where": {"properties.when": {"within": "1h"}}}, {1, 2})
    check(wh, {"event": "p", "where": {"properties.when": {"lt": "2026-11-01T00:00:00Z"}}}, {1, 2})


# =====================================================================================================
# Segment references and the SQL escape hatch
# =====================================================================================================

def test_segment_reference(plans):
    others = {"pros": {"attribute": "plan", "equals": "pro"}}
    check(plans, {"segment": "pros"}, {1, 3}, others=others)
    check(plans, {"not": {"segment": "pros"}}, {2, 4}, others=others)
    check(plans, {"all": [{"segment": "pros"}, {"attribute": "age", "gt": 40}]}, {3}, others=others)


def test_segment_reference_chain(plans):
    others = {"pros": {"attribute": "plan", "equals": "pro"},
              "old_pros": {"all": [{"segment": "pros"}, {"attribute": "age", "gte": 50}]}}
    check(plans, {"any": [{"segment": "old_pros"}, {"attribute": "plan", "equals": "free"}]}, {2, 3}, others=others)


def test_segment_reference_with_streams(baskets):
    others = {"buyers": {"event": "purchase", "within": "30d"}}
    check(baskets, {"none": [{"segment": "buyers"}]}, {3, 4, 5}, others=others)


def test_sql_escape_hatch_null_is_false_and_not_of_it_true(plans):
    sql = {"age > 35": lambda p: None if p["age"] is None else p["age"] > 35}
    assert reference.members({"sql": "age > 35"}, plans.people_rows, as_of=AS_OF, sql=sql) == {2, 3}
    assert plans.members({"sql": "age > 35"}) == {2, 3}
    assert plans.members({"not": {"sql": "age > 35"}}) == {1, 4}
    assert plans.members({"none": [{"sql": "age > 35"}]}) == {1, 4}
    assert plans.members({"sql": "plan = 'pro'"}) == {1, 3}
    assert plans.members({"not": {"sql": "plan = 'pro'"}}) == {2, 4}
    assert plans.members({"not": {"sql": "plan = 'pro' AND age > 35"}}) == {1, 2, 4}
    assert plans.members({"any": [{"not": {"sql": "age > 35"}}, {"sql": "plan = 'free'"}]}) == {1, 2, 4}


# =====================================================================================================
# Splits (SPEC section 6)
# =====================================================================================================

def python_bucket(salt: str, key: Any) -> int:
    return int(hashlib.md5((salt + ":" + str(key)).encode()).hexdigest()[0:8], 16) % 100


def python_group(salt: str, groups: dict[str, int], key: Any) -> str:
    bucket, upper = python_bucket(salt, key), 0
    for group, percent in groups.items():
        upper += percent
        if bucket < upper:
            return group
    raise AssertionError("groups must sum to 100")


def test_split_buckets_match_python_formula(wh):
    groups = {"control": 10, "variant_a": 45, "variant_b": 45}
    keys = list(range(1, 1501)) + [0, -1, -42, 2 ** 40, 9_007_199_254_740_993]
    wh.people([{"user_id": k} for k in keys])
    rows = wh.query({"attribute": "user_id", "exists": True}, splits={"salt": "winter_2026", "groups": groups})
    actual = {row[0]: row[1] for row in rows}
    expected = {k: python_group("winter_2026", groups, k) for k in keys}
    assert actual == expected
    counts = {g: sum(1 for v in actual.values() if v == g) for g in groups}
    assert all(count > 0 for count in counts.values()), counts


def test_split_group_boundaries(wh):
    # uneven groups: each boundary bucket (0, 1, 3, 4, 10, 11, 50, 51, 98, 99) lands in the right group
    groups = {"g1": 1, "g3": 3, "g7": 7, "g40": 40, "g48": 48, "g1b": 1}
    keys = list(range(1, 3001))
    wh.people([{"user_id": k} for k in keys])
    rows = wh.query({"attribute": "user_id", "exists": True}, splits={"salt": "s", "groups": groups})
    expected = {k: python_group("s", groups, k) for k in keys}
    for bucket in (0, 1, 3, 4, 10, 11, 50, 51, 98, 99):
        assert any(python_bucket("s", k) == bucket for k in keys)
    assert {row[0]: row[1] for row in rows} == expected


def test_split_default_salt_is_segment_name(wh):
    groups = {"a": 50, "b": 50}
    keys = list(range(1, 301))
    wh.people([{"user_id": k} for k in keys])
    rows = wh.query({"attribute": "user_id", "exists": True}, splits={"groups": groups})
    assert {row[0]: row[1] for row in rows} == {k: python_group("s", groups, k) for k in keys}


def test_split_text_keys_and_odd_salt(wh):
    groups = {"control": 33, "x": 0, "treatment": 67}
    keys = ["a", "B", "user-42", "with space", "quote'd", "ümlaut", "日本", "", "a:b", "12"]
    wh.people([{"user_id": k} for k in keys], user_id="VARCHAR")
    salt = "it's:50%_off"
    rows = wh.query({"attribute": "user_id", "exists": True}, splits={"salt": salt, "groups": groups})
    expected = {}
    for k in keys:
        bucket = python_bucket(salt, k)
        expected[k] = "control" if bucket < 33 else "treatment"
    assert {row[0]: row[1] for row in rows} == expected


def test_split_only_members_get_groups(plans):
    rows = plans.query({"attribute": "plan", "equals": "pro"}, splits={"salt": "x", "groups": {"a": 50, "b": 50}})
    assert {row[0]: row[1] for row in rows} == {k: python_group("x", {"a": 50, "b": 50}, k) for k in (1, 3)}
