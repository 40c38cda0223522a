"""Typed model of a project and its segments. Frozen dataclasses: equal conditions compare equal,
which is how the planner finds work that several segments share."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
import pathlib
from typing import Any, Optional, Protocol, Union


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: str  # m, h, d, w

    UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

    @property
    def delta(self) -> dt.timedelta:
        try:
            return dt.timedelta(**{self.UNITS[self.unit]: self.amount})
        except OverflowError:
            return dt.timedelta.max

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True)
class Op:
    """One comparison: `name` is an operator of SPEC section 4 (equals, in, gt, within, ...).
    Ops compare by the repr of their value, so `true` and `1` (equal in Python) stay different."""

    name: str
    value: Any = field(compare=False)  # scalar, tuple of scalars, Duration, or (lo, hi)
    typed_value: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "typed_value", repr(self.value))


@dataclass(frozen=True)
class Condition:
    line: Optional[int] = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class All(Condition):
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf(Condition):
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class NoneOf(Condition):
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not(Condition):
    item: Condition


@dataclass(frozen=True)
class AtLeast(Condition):
    """`at_least: K` with `of: [...]`: at least K of the items hold (1 <= K <= len(items))."""

    k: int
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Attribute(Condition):
    column: str
    ops: tuple[Op, ...]
    ignore_case: bool = False


@dataclass(frozen=True)
class Path:
    """A stream column, optionally a JSON path inside it (`properties.amount`)."""

    column: str
    keys: tuple[str, ...] = ()

    def __str__(self) -> str:
        return ".".join((self.column, *self.keys))


@dataclass(frozen=True)
class RowFilter:
    path: Path
    ops: tuple[Op, ...]
    ignore_case: bool = False


@dataclass(frozen=True)
class CalendarPeriod:
    """`during: {unit, offset}`: one calendar period in the project's time_zone; offset 0 holds as_of."""

    unit: str  # day, week (Monday to Sunday), month, quarter, year
    offset: int = 0  # <= 0
    time_zone: str = "UTC"  # the project's (SPEC section 2), set when parsed: a period is complete in itself

    UNITS = ("day", "week", "month", "quarter", "year")

    def __str__(self) -> str:
        return f"{self.unit} {self.offset:+d}" if self.offset else f"this {self.unit}"


@dataclass(frozen=True)
class Anchor:
    """`after:` / `before:` a people column's value, optionally at most `within` away from it."""

    attribute: str
    within: Optional[Duration] = None


@dataclass(frozen=True, repr=False)
class Window:
    within: Optional[Duration] = None
    older_than: Optional[Duration] = None
    since: Optional[dt.datetime] = None
    until: Optional[dt.datetime] = None
    during: Optional[CalendarPeriod] = None
    after: Optional[Anchor] = None
    before: Optional[Anchor] = None

    def __repr__(self) -> str:
        """The first edition's repr, plus the second edition's keys only when given: feature column
        names hash this repr, and the SQL of existing segments must not change with the model."""
        parts = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                 if f.name not in ("during", "after", "before") or getattr(self, f.name) is not None]
        return f"Window({', '.join(parts)})"


@dataclass(frozen=True)
class Aggregate:
    kind: str  # count, sum, avg, min, max, first, last, nth, distinct, distinct_days, most_frequent
    ops: tuple[Op, ...]
    of: Optional[Path] = None
    n: Optional[int] = None  # nth only: the n-th smallest timestamp, n >= 1
    ignore_case: bool = False  # most_frequent only


@dataclass(frozen=True)
class StreamMatch:
    """Which rows of a stream match: everything but the aggregates. Shared across segments."""

    stream: str
    pattern: Optional[str]
    filters: tuple[RowFilter, ...] = ()
    window: Window = Window()


@dataclass(frozen=True)
class StreamCondition(Condition):
    match: StreamMatch
    aggregates: tuple[Aggregate, ...]


@dataclass(frozen=True)
class Step:
    """One step of a sequence: which rows it selects, and how they follow the previous step's row."""

    match: StreamMatch
    within_after: Optional[Duration] = None  # t(previous) < t <= t(previous) + D
    same: tuple[Path, ...] = ()  # non-NULL, equal text forms in this row and the previous one
    performed: bool = True  # False: only on the last step (no such row, once the wait is over)
    line: Optional[int] = field(default=None, compare=False)


@dataclass(frozen=True)
class Sequence(Condition):
    """`sequence: [step, ...]`, 2 to 8 steps, strictly later rows (SPEC section 4, Sequences)."""

    steps: tuple[Step, ...]


@dataclass(frozen=True)
class SegmentRef(Condition):
    name: str
    split: tuple[str, ...] = ()  # members of these split groups only; () is every member


@dataclass(frozen=True)
class Sql(Condition):
    text: str


@dataclass(frozen=True)
class InStatic(Condition):
    """Membership of a static segment: the people whose match column's text is in its CSV column."""

    segment: str
    match_column: str


AnyCondition = Union[All, AnyOf, NoneOf, Not, AtLeast, Attribute, StreamCondition, Sequence, SegmentRef, Sql,
                     InStatic]


@dataclass(frozen=True)
class Static:
    csv: str  # relative to the project
    column: str
    match_on: str  # 'key' or an identifiers name


@dataclass(frozen=True)
class Splits:
    salt: str
    groups: tuple[tuple[str, int], ...]  # (group, percent) in order


@dataclass(frozen=True)
class SyncSpec:
    destination: str
    list: Optional[str]
    on_enter: str = "add"
    on_exit: str = "remove"
    line: Optional[int] = field(default=None, compare=False)
    splits: Optional[tuple[str, ...]] = None          # only members in these split groups (SPEC section 8)
    min_removals: Optional[int] = None                # mass-removal guard overrides of the destination's
    max_removal_ratio: Optional[float] = None
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # key -> line, for later checks


@dataclass
class SegmentTest:
    name: str
    as_of: dt.datetime
    given: dict[str, list[dict[str, Any]]]
    expect: list[Any]
    line: Optional[int] = None


@dataclass
class Segment:
    name: str
    file: str
    line: Optional[int]
    condition: Condition  # `where`, or InStatic for a static segment
    description: str = ""
    tags: tuple[str, ...] = ()
    owner: Optional[str] = None
    enabled: bool = True
    static: Optional[Static] = None
    fields: tuple[str, ...] = ()
    splits: Optional[Splits] = None
    sync: tuple[SyncSpec, ...] = ()
    tests: list[SegmentTest] = field(default_factory=list)
    definition_hash: str = ""
    depends_on: tuple[str, ...] = ()  # referenced segments, direct
    name_line: Optional[int] = None

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Stream:
    name: str
    table: str
    key: str
    timestamp: str
    name_column: Optional[str] = None
    properties: Optional[str] = None


@dataclass(frozen=True)
class People:
    table: str
    key: str
    identifiers: tuple[tuple[str, str], ...] = ()  # (name, column)

    def column_for(self, identifier: str) -> str:
        """The column behind `key` or an identifiers name."""
        return self.key if identifier == "key" else dict(self.identifiers)[identifier]


@dataclass(frozen=True)
class AudienceViews:
    """`audience_views:` views `audiences` and `audience_memberships` in the shape Census's
    Warehouse-Managed Audiences reads, in `schema` ([database.]schema; None: the people table's)."""

    schema: Optional[str] = None


@dataclass
class ProjectConfig:
    name: str
    root: str
    profile: str
    source_dialect: str
    output_schema: str
    people: People
    streams: dict[str, Stream]
    vars: dict[str, Any]
    destinations: dict[str, dict[str, Any]]
    time_zone: str = "UTC"  # IANA zone of calendar windows and distinct_days (SPEC section 2)
    audience_views: Optional[AudienceViews] = None  # off unless segwarehouse.yml opts in


class ProjectSpec(Protocol):
    """What the stages after loading need of a project (project.loader.LoadedProject is one): so
    materialize/ and sync/ depend on the model, not on the loader."""

    config: ProjectConfig
    segments: dict[str, Segment]  # in dependency order

    @property
    def root(self) -> pathlib.Path: ...
