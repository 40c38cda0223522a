"""The target's catalog (column types of the people and stream tables) and the check that every
column a segment reads exists, before any SQL runs (SPEC section 11)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import sqlglot
from sqlglot import exp

from ..errors import Problem, did_you_mean
from ..spec import model as m
from ..spec.conditions import walk
from .names import table_of


@dataclass(frozen=True)
class Catalog:
    """{table as the project names it: {column: type}}; a table the target lacks maps to None.
    Column names match case-insensitively: rendering folds every name as its engine folds
    unquoted names (compiler/dialects.normalize), so `plan`, `Plan` and `PLAN` read one column."""

    tables: dict[str, Optional[dict[str, str]]]
    description: str = ""

    @classmethod
    def read(cls, config: m.ProjectConfig, column_types: Callable[[str], Optional[dict[str, str]]],
             description: str = "") -> "Catalog":
        names = [config.people.table, *(s.table for s in config.streams.values())]
        return cls({t: column_types(table_of(t)) for t in dict.fromkeys(names)}, description)

    def columns(self, table: str) -> Optional[dict[str, str]]:
        return self.tables.get(table)

    def resolve(self, table: str, column: str) -> Optional[str]:
        """The table's own spelling of `column`, or None when it has no such column."""
        columns = self.columns(table) or {}
        if column in columns:
            return column
        return next((c for c in columns if c.lower() == column.lower()), None)

    def people_types(self, config: m.ProjectConfig) -> dict[str, str]:
        return dict(self.columns(config.people.table) or {})


# --- what a segment reads ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Read:
    """One column a segment reads: in the people table (stream None) or a stream's table."""

    column: str
    line: Optional[int]
    stream: Optional[str] = None
    what: str = ""       # for stream columns: which setting names it (streams.event.timestamp)
    json_path: str = ""  # the path written, when the column was named as the head of a JSON path


def sql_columns(text: str, dialect: str) -> list[str]:
    """Unqualified people columns an `sql:` condition reads (the head of `col.field`); none when it
    holds a subquery, whose names sqlglot cannot attribute to the people table."""
    try:
        parsed = sqlglot.parse_one(text, read=dialect)
    except sqlglot.errors.ParseError:
        return []
    if parsed.find(exp.Select) is not None:
        return []
    return [c.parts[0].name if c.table else c.name for c in parsed.find_all(exp.Column)]


def people_reads(segment: m.Segment, config: m.ProjectConfig) -> Iterator[Read]:
    """People columns the segment's own definition reads (references not followed)."""
    reads: list[Read] = [Read(f, segment.line) for f in segment.fields]

    def visit(c: m.Condition) -> None:
        if isinstance(c, m.Attribute):
            reads.append(Read(c.column, c.line or segment.line))
        elif isinstance(c, m.InStatic):
            reads.append(Read(c.match_column, c.line or segment.line))
        elif isinstance(c, m.Sql):
            reads.extend(Read(col, c.line or segment.line) for col in sql_columns(c.text, config.source_dialect))
        matches = ([c.match] if isinstance(c, m.StreamCondition)
                   else [step.match for step in c.steps] if isinstance(c, m.Sequence) else [])
        for match in matches:  # after/before: {attribute: COL} reads COL per person
            for anchor in (match.window.after, match.window.before):
                if anchor is not None:
                    reads.append(Read(anchor.attribute, c.line or segment.line))

    walk(segment.condition, visit)
    return iter(reads)


def stream_reads(segment: m.Segment, config: m.ProjectConfig) -> Iterator[Read]:
    """Stream columns the segment's own definition reads: the stream's key and timestamp, its name
    column when a pattern is given, and the column of every where/of path."""
    reads: list[Read] = []

    def read(match: m.StreamMatch, line: Optional[int], paths: list[m.Path]) -> None:
        stream = config.streams[match.stream]
        setting = f"streams.{stream.name}"
        reads.append(Read(stream.key, line, stream.name, f"{setting}.key"))
        reads.append(Read(stream.timestamp, line, stream.name, f"{setting}.timestamp"))
        if match.pattern is not None and stream.name_column:
            reads.append(Read(stream.name_column, line, stream.name, f"{setting}.name"))
        for path in [f.path for f in match.filters] + paths:
            reads.append(Read(path.column, line, stream.name, json_path=str(path) if path.keys else ""))

    def visit(c: m.Condition) -> None:
        if isinstance(c, m.StreamCondition):
            read(c.match, c.line or segment.line, [a.of for a in c.aggregates if a.of is not None])
        elif isinstance(c, m.Sequence):  # a step's `same` paths are read on its own stream
            for step in c.steps:
                read(step.match, step.line or c.line or segment.line, list(step.same))

    walk(segment.condition, visit)
    return iter(reads)


def _listing(columns: dict[str, str]) -> str:
    return ", ".join(columns)


def check_segment(segment: m.Segment, config: m.ProjectConfig, catalog: Catalog) -> list[Problem]:
    """Every column the segment's own definition reads that the target's tables lack."""
    problems: list[Problem] = []
    people = config.people
    columns = catalog.columns(people.table)
    for read in people_reads(segment, config):
        if columns is not None and catalog.resolve(people.table, read.column) is None:
            problems.append(Problem(segment.file, read.line,
                                    f"the people table {people.table} has no column '{read.column}'"
                                    f"{did_you_mean(read.column, columns)}; columns: {_listing(columns)}"))
    for read in stream_reads(segment, config):
        stream = config.streams[read.stream]
        columns = catalog.columns(stream.table)
        if columns is None:
            problems.append(Problem(segment.file, read.line,
                                    f"the table {stream.table} of stream '{stream.name}' (streams.{stream.name}."
                                    f"table in segwarehouse.yml) does not exist in the target {catalog.description}"
                                    .rstrip()))
            continue
        if catalog.resolve(stream.table, read.column) is not None:
            continue
        message = f"the table {stream.table} of stream '{stream.name}' has no column '{read.column}'"
        if read.what:
            message += f" ({read.what} in segwarehouse.yml)"
        elif read.json_path:
            json_column = (f"its JSON column is '{stream.properties}'" if stream.properties
                           else "the stream has no JSON column (streams." + stream.name + ".properties)")
            message += f" for the JSON path '{read.json_path}' ({json_column})"
        problems.append(Problem(segment.file, read.line,
                                message + f"{did_you_mean(read.column, columns)}; columns: {_listing(columns)}"))
    return list(dict.fromkeys(problems))


def check(config: m.ProjectConfig, segments: dict[str, m.Segment], names: list[str],
          catalog: Catalog) -> dict[str, list[Problem]]:
    """{segment: problems} for the named segments whose own definition reads a missing column."""
    found = {name: check_segment(segments[name], config, catalog) for name in names}
    return {name: problems for name, problems in found.items() if problems}


def check_config(config: m.ProjectConfig, catalog: Catalog) -> list[Problem]:
    """The people key and identifiers (segwarehouse.yml) against the people table."""
    people = config.people
    columns = catalog.columns(people.table)
    if columns is None:
        return [Problem("segwarehouse.yml", None, f"the people table {people.table} does not exist in the "
                                                  f"target {catalog.description}".rstrip())]
    wanted = [(people.key, "people.key"), *((c, f"people.identifiers.{n}") for n, c in people.identifiers)]
    return [Problem("segwarehouse.yml", None, f"the people table {people.table} has no column '{column}' ({setting})"
                                              f"{did_you_mean(column, columns)}; columns: {_listing(columns)}")
            for column, setting in wanted if catalog.resolve(people.table, column) is None]
