"""Seeded fuzzing of segment files (issue 9.4): case generators and the oracles that judge them.

A case is one segment file (text or raw bytes) dropped into a copy of the example project. Three
generators: structural mutations of the example's own segments (rendered, parsed, changed, dumped),
random condition trees, and text-level damage (control characters, tags, aliases, deep nesting,
extreme numbers and dates, truncation, bytes that are not UTF-8).

Oracles, in process through the Python API (`check_case`):
  traceback  validate/compile raised anything but ValidationError (the CLI's exit 1 "internal error")
  no_line    a ValidationError problem without a file and a line
  hang       the case took longer than its time budget
  bad_sql    a validated segment compiled to SQL that does not parse back in duckdb, postgres or
             snowflake, or does not run on DuckDB over empty tables
  literal    a number of the YAML is not a number literal of the SQL (e.g. `inf` read as a column)
Outcomes that are not failures: valid (validated, compiled, ran) and rejected (exit 2, FILE:LINE).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import math
import random
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import duckdb
import sqlglot
import yaml
from sqlglot import exp

from segwarehouse import Project, ValidationError
from segwarehouse.spec import model as m
from segwarehouse.spec.conditions import walk

FAILURES = ("traceback", "no_line", "hang", "bad_sql", "literal")
DIALECTS = ("duckdb", "postgres", "snowflake")
FUZZ_FILE = "fuzz_case.yml"
AS_OF = "2026-06-01T00:00:00Z"


@dataclass
class Case:
    id: str
    kind: str  # structural, tree, text
    content: Union[str, bytes]
    file_name: str = FUZZ_FILE
    replaces: Optional[str] = None  # relative path of an example segment file this case replaces


@dataclass
class Outcome:
    label: str  # valid, rejected, or one of FAILURES
    detail: str = ""
    seconds: float = 0.0


class CaseTimeout(BaseException):
    """Raised by the alarm: a BaseException, so no `except Exception` in the code under test hides it."""


@contextlib.contextmanager
def time_budget(seconds: float):
    def expire(signum, frame):
        raise CaseTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- values the generators draw from ---------------------------------------------------------------
CONTROL = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\u2028", "\ufeff", "\ufffe", "\uffff",
           "\t", "\r", "\n", "\ud800"]
EXTREME_NUMBERS = [0, -0.0, 1, -1, 2 ** 31, 2 ** 53 + 1, 2 ** 63, -(2 ** 63), 10 ** 28, 10 ** 40, 1e308, -1e308,
                   5e-324, 0.1, float("inf"), float("-inf"), float("nan"), 12345678901234567890123]
EXTREME_TIMES = [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2026, 2, 28), dt.date(1000, 1, 1),
                 dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))),
                 dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
                 dt.datetime(2026, 6, 1, 12, 30, 15, 123456), "2026-02-30", "0001-01-01T00:00:00+05:00",
                 "9999-12-31T23:59:59-01:00", "2026-13-01"]
STRINGS = ["", " ", "pro", "a'b", 'a"b', "a\\b", "%_!", "*", "|", "+", "gmail|yahoo", "win*er", "a+b|c", "x" * 300,
           "é€😀", "NULL", "inf", "nan", "1e3", "true", "a\nb", "a\x00b", "'; DROP TABLE users; --", "{{ x }}",
           "$1", "?", "\\", "[a-z]+", "a{99999999999}", "(?i)x", "a{2000}", "(((((", "properties.a\"b"]
DURATIONS = ["30d", "15m", "12h", "2w", "0d", "99999999999d", "73000d", "-1d", "1y", "d", "30", 30]
SQL = ["plan = 'pro'", "age > 30", "lower(email) LIKE '%@gmail.com'", "marketing_opt_in", "; IS", "DROP TABLE users",
       "SET x = 1", "PRAGMA version", "ATTACH 'x.db'", "plan AS y", "1", "'abc'", "(SELECT 1)",
       "plan IN (SELECT plan FROM main.users)", "count(*) > 1", "?", "x := 1", "*", "a = 1 -- c", "a = 1 /* c",
       "age + 1 > 2", "NOT " * 40 + "marketing_opt_in", "(" * 42 + "age > 1" + ")" * 42,
       "(" * 20 + "age > 1" + ")" * 20, "email IS NOT NULL AND age BETWEEN 18 AND 65", "age > inf", "\"plan\" = 'pro'",
       "CASE WHEN age > 1 THEN TRUE ELSE FALSE END", "coalesce(age, 0) >= 18", "row_number() over () = 1"]
PEOPLE_COLUMNS = ["user_id", "email", "first_name", "plan", "age", "country", "created_at", "lifetime_value",
                  "marketing_opt_in", "company", "inf", "nan", "", "no_such_column", 1, None]
STREAMS = {"event": ["purchase", "add_to_cart|checkout_started", "*", None, "page*"],
           "page_view": ["*/winter/*", "/home", None], "activity": ["email_opened", "email_clicked", "unsubscribed"],
           "device": ["ios|android", None]}
PATHS = ["properties.amount", "properties.category", "properties.sku", "properties", "channel", "properties.",
         "", ".amount", "properties.a\"b", "properties.a\\b", 5]
OPS = ["equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "between", "contains", "not_contains",
       "starts_with", "ends_with", "matches", "exists", "within", "older_than", "within_next", "ignore_case",
       "bogus_op"]


def _value(rng: random.Random) -> Any:
    pick = rng.random()
    if pick < 0.3:
        return rng.choice(EXTREME_NUMBERS)
    if pick < 0.45:
        return rng.choice(EXTREME_TIMES)
    if pick < 0.7:
        return rng.choice(STRINGS)
    if pick < 0.8:
        return rng.choice(DURATIONS)
    if pick < 0.88:
        return [_value(rng) for _ in range(rng.randint(0, 3))]
    if pick < 0.94:
        return rng.choice([None, True, False, {}, [], {"a": 1}])
    return rng.choice(CONTROL) + rng.choice(STRINGS)


def _op_value(rng: random.Random, op: str) -> Any:
    if rng.random() < 0.35:
        return _value(rng)
    if op in ("in", "not_in"):
        return [rng.choice(EXTREME_NUMBERS + ["pro", "free"]) for _ in range(rng.randint(1, 4))]
    if op == "between":
        kind = rng.choice([EXTREME_NUMBERS, EXTREME_TIMES])
        return [rng.choice(kind), rng.choice(kind)]
    if op in ("gt", "gte", "lt", "lte", "equals", "not_equals"):
        return rng.choice(EXTREME_NUMBERS + EXTREME_TIMES + ["pro"])
    if op in ("within", "older_than", "within_next"):
        return rng.choice(DURATIONS)
    if op in ("exists", "ignore_case"):
        return rng.choice([True, False])
    return rng.choice(STRINGS)


def _ops(rng: random.Random, allowed=OPS) -> dict:
    return {op: _op_value(rng, op) for op in rng.sample(allowed, rng.randint(1, 3))}


def random_condition(rng: random.Random, depth: int = 0) -> Any:
    """A condition tree, mostly well-formed, with hostile leaves and the odd malformed node."""
    roll = rng.random()
    if depth < 6 and roll < 0.3:
        kind = rng.choice(["all", "any", "none", "not"])
        if kind == "not":
            return {"not": random_condition(rng, depth + 1)}
        return {kind: [random_condition(rng, depth + 1) for _ in range(rng.randint(0 if rng.random() < 0.05 else 1, 3))]}
    if roll < 0.55:
        return {"attribute": rng.choice(PEOPLE_COLUMNS), **_ops(rng)}
    if roll < 0.85:
        stream = rng.choice(list(STREAMS))
        condition: dict = {stream: rng.choice(STREAMS[stream])}
        if rng.random() < 0.4:
            condition["where"] = {rng.choice(PATHS): rng.choice([_value(rng), _ops(rng)]) for _ in range(rng.randint(1, 2))}
        for key in rng.sample(["within", "older_than", "since", "until"], rng.randint(0, 2)):
            condition[key] = rng.choice(DURATIONS) if key in ("within", "older_than") else rng.choice(EXTREME_TIMES)
        for agg in rng.sample(["count", "sum", "avg", "min", "max", "first", "last", "performed"], rng.randint(0, 2)):
            if agg == "performed":
                condition[agg] = rng.choice([True, False, "no"])
            else:
                body = _ops(rng, ["gte", "lt", "equals", "between", "in", "within", "older_than"])
                if agg in ("sum", "avg", "min", "max"):
                    body["of"] = rng.choice(PATHS)
                condition[agg] = body
        return condition
    if roll < 0.93:
        return {"sql": rng.choice(SQL)}
    return rng.choice([{"segment": rng.choice(["active_users", "abandoned_cart", "nope", ""])},
                       {"bogus": 1}, [], "all", None, {"all": [], "any": []}])


def deep(rng: random.Random, levels: int) -> Any:
    tree: Any = {"attribute": "age", "gt": 1}
    for _ in range(levels):
        tree = {"not": tree} if rng.random() < 0.5 else {"all": [tree]}
    return tree


# --- the three generators --------------------------------------------------------------------------
def tree_case(rng: random.Random, case_id: str) -> Case:
    where = deep(rng, rng.choice([10, 19, 20, 21, 64, 160])) if rng.random() < 0.08 else random_condition(rng)
    segment: dict = {"name": f"fuzz_{case_id.replace('-', '_')}", "where": where}
    if rng.random() < 0.2:
        segment["fields"] = rng.choice([["email"], [""], "email", [1]])
    if rng.random() < 0.1:
        segment["splits"] = {"groups": rng.choice([{"a": 50, "b": 50}, {1: 50, "a": 50}, {"a": 101}, {"a": 50.5}])}
    return Case(case_id, "tree", dump(segment))


def structural_case(rng: random.Random, case_id: str, examples: dict[str, Any]) -> Case:
    """An example segment (rendered and parsed) with one to three random changes."""
    path = rng.choice(sorted(examples))
    doc = _copy(examples[path])
    for _ in range(rng.randint(1, 3)):
        doc = _mutate(rng, doc)
    return Case(case_id, "structural", dump(doc), file_name=Path(path).name, replaces=path)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _nodes(value: Any, path=()):
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _nodes(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _nodes(v, path + (i,))


def _mutate(rng: random.Random, doc: Any) -> Any:
    nodes = list(_nodes(doc))
    path, node = rng.choice(nodes)
    action = rng.choice(["replace", "replace", "delete", "rename", "wrap", "condition", "mixed_key", "duplicate"])
    if not path:
        return {"not": doc} if action == "wrap" else doc
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if action == "replace":
        parent[key] = _value(rng)
    elif action == "delete":
        del parent[key]
    elif action == "rename" and isinstance(parent, dict):
        parent[rng.choice(OPS + ["where", "within", "since", "of", "name", "all", "segment", "sql"])] = parent.pop(key)
    elif action == "wrap":
        parent[key] = deep(rng, rng.randint(1, 80)) if rng.random() < 0.3 else {"not": node}
    elif action == "condition":
        parent[key] = random_condition(rng)
    elif action == "mixed_key" and isinstance(parent, dict):
        parent[rng.choice([1, True, None, 2.5])] = parent.pop(key)
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(_copy(node))
    return doc


def text_case(rng: random.Random, case_id: str, texts: dict[str, str]) -> Case:
    """An example file's text (or a generated tree's) damaged at the character level."""
    if rng.random() < 0.7:
        path = rng.choice(sorted(texts))
        text, file_name, replaces = texts[path], Path(path).name, path
    else:
        text, file_name, replaces = tree_case(rng, case_id).content, FUZZ_FILE, None
    for _ in range(rng.randint(1, 3)):
        text = _damage(rng, text)
    content: Union[str, bytes] = text
    if rng.random() < 0.04:  # bytes that are not UTF-8
        raw = text.encode("utf-8", "surrogatepass")
        at = rng.randrange(len(raw) + 1)
        content = raw[:at] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"]) + raw[at:]
    elif any("\ud800" <= ch <= "\udfff" for ch in text):
        content = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.03:
        file_name = rng.choice(["new\nline.yml", "tab\there.yml", "x" * 250 + ".yml", "é€.yml", "--.yml"])
        replaces = None
    return Case(case_id, "text", content, file_name=file_name, replaces=replaces)


TAGS = ["!!int ''", "!!float x", "!!str", "!!binary 'zz'", "!!timestamp x", "!!set {a, b}", "!!omap [a: 1]",
        "!!python/object:os.system x", "!!map", "!!seq", "!!bool maybe", "!!null x", "!custom x", "!!int 0x_",
        "!!float .inf", "!!timestamp 2026-02-30"]


def _damage(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    at = rng.randrange(len(text) + 1)
    action = rng.randrange(13)
    if action == 0:
        return text[:at] + rng.choice(CONTROL) + text[at:]
    if action == 1:
        return text[:at] + text[at + rng.randint(1, 20):]
    if action == 2 and lines:
        i = rng.randrange(len(lines))
        return "\n".join(lines[:i] + [lines[i]] + lines[i:])
    if action == 3 and len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    if action == 4:
        return text[:at] + " " + rng.choice(TAGS) + " " + text[at:]
    if action == 5:  # alias expansion, billion laughs
        width, levels = rng.choice([(10, 6), (10, 9), (3, 4), (2, 20)])
        block = ["lol0: &l0 [lol]"] + [f"lol{i}: &l{i} [{', '.join(f'*l{i - 1}' for _ in range(width))}]"
                                       for i in range(1, levels)]
        return text + "\n" + "\n".join(block) + "\n" + f"tags: *l{levels - 1}\n"
    if action == 6:
        n = rng.choice([50, 150, 199, 250, 1200, 20000])
        return text[:at] + "[" * n + "]" * n + text[at:]
    if action == 7:
        return re.sub(r"\b\d+\b", lambda _: repr(rng.choice(EXTREME_NUMBERS)).replace("inf", ".inf")
                      .replace("nan", ".nan"), text, count=rng.randint(1, 3))
    if action == 8:
        return re.sub(r"\d{4}-\d{2}-\d{2}", rng.choice(["0001-01-01", "9999-12-31", "2026-02-30", "0000-00-00"]),
                      text, count=1)
    if action == 9:
        return text[:at]
    if action == 10 and lines:
        i = rng.randrange(len(lines))
        lines[i] = rng.choice([" ", "  ", "\t", "- "]) + lines[i]
        return "\n".join(lines)
    if action == 11:
        return text + "\nfields: [" + ", ".join(str(i) for i in range(rng.choice([10, 5000]))) + "]\n"
    return text[:at] + rng.choice(["&a ", "*a", "*nope ", "<<: *a\n", "? ", ": ", "{", "]", "'", '"', "#", "|\n",
                                   ">-\n", "---\n", "...\n", "%YAML 1.1\n", "{{", "{%", "}}"]) + text[at:]


def dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def generate(seed: int, count: int, examples: dict[str, Any], texts: dict[str, str]) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        case_id = f"{seed}-{i}"
        roll = rng.random()
        if roll < 0.35:
            cases.append(structural_case(rng, case_id, examples))
        elif roll < 0.65:
            cases.append(tree_case(rng, case_id))
        else:
            cases.append(text_case(rng, case_id, texts))
    return cases


# --- running and judging one case ------------------------------------------------------------------
class Arena:
    """A copy of the example project, and a DuckDB with its tables, empty, to run compiled SQL on."""

    def __init__(self, root: Path, empty_tables: duckdb.DuckDBPyConnection):
        self.root = root
        self.db = empty_tables

    @contextlib.contextmanager
    def placed(self, case: Case):
        target = self.root / "segments" / (Path(case.replaces).parent if case.replaces else Path("."))
        original = self.root / "segments" / case.replaces if case.replaces else None
        saved = original.read_bytes() if original else None
        if original:
            original.unlink()
        path = target / case.file_name.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
        try:
            if isinstance(case.content, bytes):
                path.write_bytes(case.content)
            else:
                path.write_text(case.content, encoding="utf-8")
            yield path
        finally:
            path.unlink(missing_ok=True)
            if original:
                original.write_bytes(saved)


def check_case(arena: Arena, case: Case, budget: float) -> Outcome:
    started = time.perf_counter()
    with arena.placed(case) as path:
        try:
            with time_budget(budget):
                outcome = _judge(arena, path)
        except CaseTimeout:
            outcome = Outcome("hang", f"more than {budget}s")
    outcome.seconds = time.perf_counter() - started
    if outcome.seconds > budget and outcome.label != "hang":
        outcome = Outcome("hang", f"{outcome.seconds:.1f}s > {budget}s", outcome.seconds)
    return outcome


def _judge(arena: Arena, path: Path) -> Outcome:
    project = Project(arena.root, target_path=str(arena.root / "target"))
    try:
        segments = project.validate().segments
    except ValidationError as e:
        return _rejected(e)
    except Exception as e:  # noqa: BLE001 - the oracle: anything else is the CLI's "internal error"
        return Outcome("traceback", f"validate: {type(e).__name__}: {e}"[:400])
    file = str(path.relative_to(arena.root))
    names = [n for n, s in segments.items() if s.file == file]
    compiled: dict[str, dict[str, str]] = {}
    for dialect in DIALECTS:
        try:
            compiled[dialect] = project.compile(select=names, dialect=dialect, as_of=AS_OF, write=False)[dialect] \
                if names else {}
        except ValidationError as e:
            return _rejected(e)
        except Exception as e:  # noqa: BLE001
            return Outcome("traceback", f"compile {dialect}: {type(e).__name__}: {e}"[:400])
    for name in names:
        for dialect in DIALECTS:
            sql = compiled[dialect][name]
            try:
                parsed = sqlglot.parse(sql, read=dialect)
            except Exception as e:  # noqa: BLE001
                return Outcome("bad_sql", f"{name} does not parse back as {dialect}: {e}"[:400])
            if len([p for p in parsed if p is not None]) != 1:
                return Outcome("bad_sql", f"{name} compiles to {len(parsed)} statements in {dialect}")
        problem = literal_problem(segments[name].condition, compiled["duckdb"][name], segments[name].fields)
        if problem:
            return Outcome("literal", f"{name}: {problem}")
        try:
            arena.db.execute(compiled["duckdb"][name]).fetchall()
        except duckdb.BinderException as e:
            # an unknown column is `validate --catalog`'s job, not this one
            if "not found" not in str(e) and "does not have a column" not in str(e):
                return Outcome("bad_sql", f"{name} does not run on DuckDB: {e}"[:400])
        except duckdb.Error as e:
            return Outcome("bad_sql", f"{name} does not run on DuckDB: {e}"[:400])
    return Outcome("valid")


LOCATED = re.compile(r"^\S.*:\d+$")


def _rejected(error: ValidationError) -> Outcome:
    for problem in error.problems:
        if not problem.file or not problem.line:
            return Outcome("no_line", str(problem)[:400])
    return Outcome("rejected", str(error.problems[0])[:200])


NUMBER_LIKE = re.compile(r"^[+-]?(inf|infinity|nan|\d[\d_.]*(e[+-]?\d+)?)$", re.IGNORECASE)


def literal_problem(condition: m.Condition, sql: str, fields: tuple = ()) -> Optional[str]:
    """Oracle (e): every number a condition compares with is a number literal of the SQL, and no
    identifier of the SQL reads like a number (`inf`, `nan`, `1e3`)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    named = columns_of(condition) | set(fields)  # a column the user named `1e3` is theirs to name
    for identifier in tree.find_all(exp.Identifier):
        if NUMBER_LIKE.match(identifier.name) and identifier.name not in named:
            return f"identifier {identifier.name!r} where a number was meant"
    literals = {_as_float(lit.this) for lit in tree.find_all(exp.Literal) if lit.is_number}
    literals |= {-_as_float(neg.this.this) for neg in tree.find_all(exp.Neg)  # -1 is Neg(Literal(1))
                 if isinstance(neg.this, exp.Literal) and neg.this.is_number}
    for number in numbers_of(condition):
        if _as_float(repr(number)) not in literals and _as_float(str(number)) not in literals:
            return f"the number {number!r} is not a number literal of the SQL"
    return None


def _as_float(text: str) -> float:
    try:
        return float(text)
    except (ValueError, OverflowError):
        return math.nan


def columns_of(condition: m.Condition) -> set:
    found: set = set()

    def visit(c):
        if isinstance(c, m.Attribute):
            found.add(c.column)
        elif isinstance(c, m.StreamCondition):
            found.update(part for f in c.match.filters for part in (f.path.column, *f.path.keys))
            found.update(part for a in c.aggregates if a.of for part in (a.of.column, *a.of.keys))
        elif isinstance(c, m.Sql):
            found.update(i.name for i in sqlglot.parse_one(c.text, read="duckdb").find_all(exp.Identifier))

    walk(condition, visit)
    return found


def numbers_of(condition: m.Condition) -> list:
    found: list = []

    def ops(items):
        for op in items:
            values = op.value if isinstance(op.value, tuple) else (op.value,)
            found.extend(v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool))

    def visit(c):
        if isinstance(c, m.Attribute):
            ops(c.ops)
        elif isinstance(c, m.StreamCondition):
            for f in c.match.filters:
                ops(f.ops)
            for agg in c.aggregates:
                ops(agg.ops)

    walk(condition, visit)
    return found
