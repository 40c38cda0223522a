"""What differs between dialects, as transforms on the expression tree before generation.

sqlglot's generator checks syntax, not support: it prints TRY() for engines without it, CAST where
TRY_CAST was meant, and maps a regex search to Snowflake's REGEXP_LIKE, which matches the whole
string. The rules (dialect_rules.py) rewrite the tree for the dialects that need them."""
from __future__ import annotations

from typing import Callable

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy
from sqlglot.dialects.snowflake import Snowflake
from sqlglot.errors import ErrorLevel, UnsupportedError

from ..errors import Problem
from ..spec import model as m
from ..spec.graph import walk
from . import dialect_rules as r
from . import timezones as tz


Rule = Callable[[exp.Expression], exp.Expression]

# Per dialect: rules applied to every node (top-down), and rules applied once to the root.
RULES: dict[str, list[Rule]] = {
    "duckdb": [],  # the dialect the tree is built for
    "snowflake": [r.without_try, r.snowflake_regex_search, r.snowflake_safe_cast, r.without_collation],
    "postgres": [r.without_try, r.postgres_safe_cast, r.postgres_json_text, r.postgres_ascii_classes,
                 r.json_object_as("JSON_BUILD_OBJECT")],
    "redshift": [r.without_try, r.filter_as_case, r.redshift_lenient_json, r.json_object_as("OBJECT"),
                 r.without_collation],
    "bigquery": [r.without_try, r.bigquery_instants, r.backslash_like, r.without_collation, tz.bigquery_local_time],
    "trino": [r.trino_utc_timestamps, r.trino_microseconds, r.without_collation, tz.trino_local_time],  # Trino has TRY()
    "spark": [r.without_try, r.spark_try_cast, r.spark_json_object, r.without_collation, tz.spark_local_time],
    "databricks": [r.without_try, r.spark_json_object, r.without_collation, tz.spark_local_time],
    "clickhouse": [r.without_try, r.clickhouse_safe_cast, r.clickhouse_json_text, r.clickhouse_types,
                   r.clickhouse_lower, r.clickhouse_json_object, r.clickhouse_split_part, r.without_collation,
                   tz.clickhouse_local_time],
}
ROOT_RULES: dict[str, list[Rule]] = {"clickhouse": [r.clickhouse_join_nulls]}
DEFAULT_RULES = [r.without_try, r.without_collation]
# The dialects whose SQL the test suite executes (tests/test_cross_engine.py); the others are
# checked against golden files only.
EXECUTED = ("duckdb", "postgres", "snowflake", "clickhouse", "spark")
COMPILE_ONLY = ("bigquery", "redshift", "databricks", "trino")

# Node types that sqlglot's Snowflake SELECT rewrites act on (UNNEST, EXPLODE, date arrays,
# variant dot access; DISTINCT ON, named windows and semi/anti joins are found on the SELECT). Our
# trees carry none of them unless a user's `sql:` does (window functions and COUNT(DISTINCT) are not
# rewritten); skipping the rewrites then halves the time to compile for Snowflake (each builds a
# scope of every SELECT).
_SELECT_REWRITE_TRIGGERS = (exp.Unnest, exp.Explode, exp.GenerateDateArray, exp.Dot)


class SegwarehouseSnowflake(Snowflake):
    """Snowflake, generating SELECTs without the rewrites that only the trigger nodes need."""

    class Generator(Snowflake.Generator):
        TRANSFORMS = {**Snowflake.Generator.TRANSFORMS, exp.Select: lambda self, e: self.select_sql(e)}


LEAN = {"snowflake": SegwarehouseSnowflake}


def _needs_select_rewrites(node: exp.Expression) -> bool:
    if isinstance(node, _SELECT_REWRITE_TRIGGERS):
        return True
    if not isinstance(node, exp.Select):
        return False
    distinct = node.args.get("distinct")
    return bool(node.args.get("windows") or (distinct and distinct.args.get("on")) or any(
        join.args.get("kind") in ("SEMI", "ANTI") for join in node.args.get("joins") or ()))


def rewrite(expression: exp.Expression, dialect: str) -> tuple[exp.Expression, bool]:
    """The dialect's rules applied to the tree (in place), in one walk that also tells whether the
    tree holds nodes that sqlglot's own SELECT rewrites act on."""
    rules = RULES.get(dialect, DEFAULT_RULES)
    needs_rewrites = False

    def visit(node: exp.Expression) -> exp.Expression:
        nonlocal needs_rewrites
        new = node
        for rule in rules:
            new = rule(new)
        if new is not node:  # transform() does not descend into a replacement: visit its children here
            for child in list(new.iter_expressions()):
                replaced = child.transform(visit, copy=False)
                if replaced is not child:
                    child.replace(replaced)
        needs_rewrites = needs_rewrites or _needs_select_rewrites(new)
        return new

    expression = expression.transform(visit, copy=False)
    for rule in ROOT_RULES.get(dialect, ()):
        expression = rule(expression)
    return expression, needs_rewrites


def normalize(expression: exp.Expression, dialect: str) -> exp.Expression:
    """Every name as `dialect` resolves it unquoted (in place): upper case for Snowflake, lower case
    for PostgreSQL, as written for case-sensitive engines. Trees quote every name, so the quotes are
    set aside while sqlglot normalizes and put back after; quoting then keeps the folded name exact.
    Names are identifiers only: string literals (JSON keys, values) keep their case."""
    rules = Dialect.get_or_raise(dialect)
    if rules.normalization_strategy is NormalizationStrategy.CASE_SENSITIVE:
        return expression
    for node in expression.find_all(exp.Identifier):  # one walk (sqlglot's normalize_identifiers takes two)
        if node.meta_get("case_sensitive"):  # a collation name, not a column
            continue
        quoted = node.args.get("quoted")
        node.args["quoted"] = False
        rules.normalize_identifier(node)
        node.args["quoted"] = quoted
    return expression


def render(expression: exp.Expression, dialect: str, **options) -> str:
    """SQL for `dialect`: names folded as the engine folds unquoted names, then every one quoted.
    `compile` and the adapters both render through here, so compiled SQL is the SQL that runs."""
    expression = normalize(expression, dialect)
    if dialect in LEAN or RULES.get(dialect, DEFAULT_RULES):
        expression, needs_rewrites = rewrite(expression, dialect)
        generator = dialect if needs_rewrites else LEAN.get(dialect, dialect)
    else:
        generator = dialect
    return expression.sql(dialect=generator, identify=True, copy=False, **options)


def render_checked(expression: exp.Expression, dialect: str, segment: m.Segment,
                   segments: dict[str, m.Segment], *, source_dialect: str, **options) -> str:
    """render(), except that what sqlglot cannot express in `dialect` (it would print something
    else, or drop it) is a Problem naming the file and line of the `sql:` condition responsible,
    or of the segment: a compile-time error, never a silent difference."""
    try:
        return render(expression, dialect, unsupported_level=ErrorLevel.RAISE, **options)
    except UnsupportedError as error:
        raise Unportable(_unsupported_problem(segment, segments, dialect, source_dialect, error)) from None


class Unportable(Exception):
    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def _unsupported_problem(segment: m.Segment, segments: dict[str, m.Segment], dialect: str, source_dialect: str,
                         error: UnsupportedError) -> Problem:
    reason = str(error).splitlines()[0]
    for node in walk(segment.condition, segments, once=True, segment=segment.name):
        condition, owner = node.condition, segments[node.segment]
        if not isinstance(condition, m.Sql):
            continue
        try:
            sqlglot.parse_one(condition.text, read=source_dialect).sql(dialect, unsupported_level=ErrorLevel.RAISE)
        except UnsupportedError as own:
            return Problem(owner.file, condition.line or owner.line,
                           f"sql: {condition.text!r} cannot be compiled for {dialect}: {str(own).splitlines()[0]}")
        except sqlglot.errors.SqlglotError:
            continue
    return Problem(segment.file, segment.line, f"segment {segment.name} cannot be compiled for {dialect}: {reason}")
