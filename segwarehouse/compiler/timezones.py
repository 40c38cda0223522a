"""A UTC timestamp as the wall-clock time of an IANA time zone, on every engine.

Timestamps stored without a zone are UTC (SPEC section 4). The tree carries one neutral node,
CONVERT_TIMEZONE('UTC', zone, t), which DuckDB, PostgreSQL (`AT TIME ZONE` twice), Snowflake and
Redshift (CONVERT_TIMEZONE) render as sqlglot prints it; the rules below rewrite it where sqlglot's
rendering means something else. Each was checked on the engine, across DST changes, where one runs
here (ClickHouse, Spark); BigQuery, Trino and Databricks follow their documentation."""
from __future__ import annotations

from typing import Callable

from sqlglot import exp

from .literals import data_type

UTC = "UTC"


def local_time(ts: exp.Expression, zone: str) -> exp.Expression:
    """`ts` (a UTC instant without zone) as the wall-clock time in `zone`, a TIMESTAMP without zone."""
    if zone == UTC:
        return ts
    return exp.ConvertTimezone(source_tz=exp.Literal.string(UTC), target_tz=exp.Literal.string(zone), timestamp=ts)


def local_date(ts: exp.Expression, zone: str) -> exp.Expression:
    """The calendar date of `ts` in `zone`."""
    return exp.Cast(this=local_time(ts, zone), to=data_type("DATE"))


def _conversion(node: exp.Expression) -> tuple[exp.Expression, exp.Expression] | None:
    """(timestamp, zone) of a local_time node, or None for any other node."""
    if isinstance(node, exp.ConvertTimezone) and isinstance(node.args.get("source_tz"), exp.Literal) \
            and node.args["source_tz"].this == UTC:
        return node.args["timestamp"], node.args["target_tz"]
    return None


def _rule(build: Callable[[exp.Expression, exp.Expression], exp.Expression]) -> Callable[[exp.Expression], exp.Expression]:
    """A dialect rule rewriting each local_time node as build(timestamp, zone)."""
    def rule(node: exp.Expression) -> exp.Expression:
        found = _conversion(node)
        return node if found is None else build(*found)
    rule.__doc__ = build.__doc__
    return rule


@_rule
def clickhouse_local_time(ts: exp.Expression, zone: exp.Expression) -> exp.Expression:
    """Our DateTime64 columns carry the zone 'UTC': add the zone's offset at that instant, keeping
    the type (toTimeZone alone changes how the instant prints, not what it compares as)."""
    offset = exp.Anonymous(this="timeZoneOffset", expressions=[
        exp.Anonymous(this="toTimeZone", expressions=[ts.copy(), zone])])
    return exp.Anonymous(this="addSeconds", expressions=[ts, offset])


@_rule
def spark_local_time(ts: exp.Expression, zone: exp.Expression) -> exp.Expression:
    """FROM_UTC_TIMESTAMP reads a TIMESTAMP as UTC and gives the zone's wall clock (Spark, Databricks)."""
    return exp.Anonymous(this="FROM_UTC_TIMESTAMP", expressions=[ts, zone])


@_rule
def bigquery_local_time(ts: exp.Expression, zone: exp.Expression) -> exp.Expression:
    """DATETIME(timestamp, zone): the civil time of an instant in a zone."""
    return exp.Anonymous(this="DATETIME", expressions=[ts, zone])


@_rule
def trino_local_time(ts: exp.Expression, zone: exp.Expression) -> exp.Expression:
    """with_timezone(t, 'UTC') reads the wall clock as UTC; AT TIME ZONE moves it; the cast to
    TIMESTAMP keeps the local wall clock."""
    utc = exp.Anonymous(this="with_timezone", expressions=[ts, exp.Literal.string(UTC)])
    return exp.Cast(this=exp.AtTimeZone(this=utc, zone=zone), to=data_type("TIMESTAMP"))
