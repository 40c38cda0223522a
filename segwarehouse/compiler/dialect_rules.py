"""Tree rewrites for dialects where sqlglot 30's output is valid SQL with the wrong meaning.

The tree is built for DuckDB. Each rule takes one node and returns it or its replacement; the
registry in dialects.py says which dialects get which rules. Every rule is covered by a test that
runs the rewritten SQL on a real engine (tests/test_cross_engine.py) or checks its rendering
(tests/test_dialects.py) where no engine is at hand."""
from __future__ import annotations

from sqlglot import exp

from .literals import data_type
from .patterns import LIKE_ESCAPE

# What DuckDB's TRY_CAST accepts, for engines that need a guard before a plain CAST.
NUMBER_TEXT = r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
ISO_TIME_TEXT = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?"
                 r"\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$")
BOOLEAN_TEXT = ("true", "false", "t", "f")
EXACT_LIMIT = "1e29"  # DECIMAL(38, 9) holds 29 integer digits; DuckDB's TRY_CAST is NULL beyond


def _is_text(node: exp.Expression) -> bool:
    """Whether a value is text already (JSON extraction, a cast to text, a string literal)."""
    if isinstance(node, exp.Try):
        node = node.this
    if isinstance(node, (exp.JSONExtractScalar, exp.Lower)):
        return True
    if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEXT_TYPES):
        return True
    return isinstance(node, exp.Literal) and node.is_string


def _text(node: exp.Expression) -> exp.Expression:
    return node if _is_text(node) else exp.Cast(this=node, to=data_type("VARCHAR"))


def _timestamp_read(node: exp.Expression) -> exp.Expression | None:
    """The value x of literals.as_kind's TIMESTAMP read, TRY_CAST(TRY_CAST(x AS TIMESTAMPTZ) AS TIMESTAMP)."""
    if (isinstance(node, exp.TryCast) and node.to.is_type(exp.DType.TIMESTAMP)
            and isinstance(node.this, exp.TryCast) and node.this.to.is_type(exp.DType.TIMESTAMPTZ)):
        return node.this.this
    return None


def _regex(value: exp.Expression, pattern: str) -> exp.Expression:
    return exp.RegexpLike(this=value, expression=exp.Literal.string(pattern))


def without_try(node: exp.Expression) -> exp.Expression:
    """TRY() exists only in DuckDB (and Trino); elsewhere the JSON functions are lenient on their own."""
    return node.this if isinstance(node, exp.Try) else node


# --- Postgres: no TRY_CAST, and sqlglot prints CAST for it, so "n/a" aborts the query ---------------

def postgres_safe_cast(node: exp.Expression) -> exp.Expression:
    """TRY_CAST as a CASE that casts only text shaped like the target type (SPEC 4 rule 5: a value
    that can't be read does not match, it never aborts). Casting the text form keeps every cast
    type-valid (Postgres has no boolean -> double cast even in a branch never taken)."""
    value = _timestamp_read(node)
    if value is not None:
        text = _text(value.copy())
        cast = exp.Cast(this=exp.Cast(this=text.copy(), to=data_type("TIMESTAMPTZ")), to=data_type("TIMESTAMP"))
        return exp.Case().when(_regex(text, ISO_TIME_TEXT), cast)
    if not isinstance(node, exp.TryCast):
        return node
    text, to = _text(node.this), node.to
    if to.is_type(*exp.DataType.NUMERIC_TYPES):
        cast = exp.Cast(this=text.copy(), to=to)
        if to.is_type(exp.DType.DECIMAL):  # beyond the decimal: NULL, as DuckDB's TRY_CAST, not an overflow
            size = exp.Abs(this=exp.Cast(this=text.copy(), to=data_type("DOUBLE")))
            cast = exp.Case().when(exp.LT(this=size, expression=exp.Literal.number(EXACT_LIMIT)), cast)
        return exp.Case().when(_regex(text, NUMBER_TEXT), cast)
    if to.is_type(exp.DType.BOOLEAN):
        known = exp.Lower(this=text.copy()).isin(*(exp.Literal.string(b) for b in BOOLEAN_TEXT))
        return exp.Case().when(known, exp.Cast(this=text, to=to))
    return exp.Cast(this=node.this, to=to)


def postgres_json_text(node: exp.Expression) -> exp.Expression:
    """JSON_EXTRACT_PATH_TEXT takes json, not jsonb or text: cast the column (a no-op on json)."""
    if isinstance(node, exp.JSONExtractScalar):
        column = node.this
        if not (isinstance(column, exp.Cast) and column.to.is_type(exp.DType.JSON)):
            node.set("this", exp.Cast(this=column, to=data_type("JSON")))
    return node


# \d \w \s are ASCII classes in RE2 (DuckDB, ClickHouse, BigQuery), Java (Spark) and Trino, but
# Unicode-aware in Postgres' regex engine ("é" is a \w there): spelled out as ASCII for Postgres.
ASCII_CLASSES = {"d": "0-9", "w": "A-Za-z0-9_", "s": " \\t\\n\\r\\f"}  # RE2's \s; ARE escapes in brackets


def postgres_ascii_classes(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.RegexpLike) and isinstance(node.expression, exp.Literal):
        node.set("expression", exp.Literal.string(_ascii_classes(node.expression.this)))
    return node


def _ascii_classes(pattern: str) -> str:
    out, i, in_bracket = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt.lower() in ASCII_CLASSES and (nxt.islower() or not in_bracket):
                chars = ASCII_CLASSES[nxt.lower()]
                out.append(chars if in_bracket else f"[{'' if nxt.islower() else '^'}{chars}]")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "[" and not in_bracket:
            in_bracket = True
            out.append(ch)
            if pattern[i + 1:i + 2] == "^":  # a ] right after [ or [^ is a literal
                out.append("^")
                i += 1
            if pattern[i + 1:i + 2] == "]":
                out.append("]")
                i += 1
        elif ch == "]" and in_bracket:
            in_bracket = False
            out.append(ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


# --- Snowflake ---------------------------------------------------------------------------------------

def snowflake_regex_search(node: exp.Expression) -> exp.Expression:
    """Snowflake's REGEXP_LIKE anchors the pattern; REGEXP_INSTR(...) > 0 is a search, as SPEC 4 wants."""
    if isinstance(node, exp.RegexpLike):
        position = exp.RegexpInstr(this=node.this, expression=node.expression)
        return exp.GT(this=position, expression=exp.Literal.number(0))
    return node


def snowflake_safe_cast(node: exp.Expression) -> exp.Expression:
    """TRY_CAST takes only text on Snowflake (sqlglot falls back to CAST otherwise, and "n/a" in a
    JSON property aborted the query): JSON values are text, so they get TRY_CAST. Times convert to
    UTC before the zone is dropped (TIMESTAMP_TZ -> NTZ keeps the local wall clock)."""
    value = _timestamp_read(node)
    if value is not None:
        zoned = _snowflake_try_cast(value, data_type("TIMESTAMPTZ"))
        utc = exp.ConvertTimezone(target_tz=exp.Literal.string("UTC"), timestamp=zoned)
        return exp.Cast(this=utc, to=data_type("TIMESTAMP"))
    if isinstance(node, exp.TryCast):
        return _snowflake_try_cast(node.this, node.to)
    return node


def _snowflake_try_cast(value: exp.Expression, to: exp.DataType) -> exp.Expression:
    if _is_text(value):
        return exp.TryCast(this=value, to=to, requires_string=True)
    if to.is_type(*exp.DataType.NUMERIC_TYPES, exp.DType.BOOLEAN):
        # a column of unknown type (a VARCHAR holding "n/a"): through its text. NUMBER and BOOLEAN
        # print exactly; FLOAT prints with up to 17 significant digits.
        return exp.TryCast(this=exp.Cast(this=value, to=data_type("VARCHAR")), to=to, requires_string=True)
    # times: a typed column casts exactly (its text form would drop microseconds); a VARCHAR column
    # of non-times makes the query fail, loudly (README, Compile-only dialects)
    return exp.Cast(this=value, to=to)


# --- Trino: TIMESTAMP WITH TIME ZONE -> TIMESTAMP keeps the local wall clock ---------------------------

def trino_utc_timestamps(node: exp.Expression) -> exp.Expression:
    value = _timestamp_read(node)
    if value is None:
        return node
    zoned = exp.TryCast(this=value, to=data_type("TIMESTAMPTZ"))
    return exp.TryCast(this=exp.AtTimeZone(this=zoned, zone=exp.Literal.string("UTC")), to=data_type("TIMESTAMP"))


def trino_microseconds(node: exp.Expression) -> exp.Expression:
    """Trino's TIMESTAMP is TIMESTAMP(3): as_of and window bounds would lose their microseconds."""
    if isinstance(node, exp.DataType) and node.is_type(exp.DType.TIMESTAMP, exp.DType.TIMESTAMPTZ) \
            and not node.expressions:
        node = node.copy()
        node.set("expressions", [exp.DataTypeParam(this=exp.Literal.number(6))])
    return node


# --- Redshift ------------------------------------------------------------------------------------------

def redshift_lenient_json(node: exp.Expression) -> exp.Expression:
    """JSON_EXTRACT_PATH_TEXT raises on text that is not JSON unless its null_if_invalid argument is
    true (DuckDB's TRY() gives NULL: no readable property, SPEC 4 rule 5)."""
    inner = node.this if isinstance(node, exp.Try) else node
    if not isinstance(inner, exp.JSONExtractScalar):
        return node
    keys = [exp.Literal.string(part.this) for part in inner.expression.expressions
            if isinstance(part, exp.JSONPathKey)]
    return exp.Anonymous(this="JSON_EXTRACT_PATH_TEXT", expressions=[inner.this, *keys, exp.true()])


# --- BigQuery ----------------------------------------------------------------------------------------

def bigquery_instants(node: exp.Expression) -> exp.Expression:
    """Our TIMESTAMP is a UTC instant: BigQuery's TIMESTAMP, not DATETIME (which sqlglot maps it to and
    which BigQuery refuses to compare with TIMESTAMP columns)."""
    value = _timestamp_read(node)
    if value is not None:
        return exp.TryCast(this=value, to=data_type("TIMESTAMPTZ"))
    if isinstance(node, exp.DataType) and node.is_type(exp.DType.TIMESTAMP):
        return data_type("TIMESTAMPTZ")
    return node


def backslash_like(node: exp.Expression) -> exp.Expression:
    """LIKE .. ESCAPE '!' where the engine has no ESCAPE clause (BigQuery): the pattern re-escaped
    with its fixed escape character, the backslash."""
    if not (isinstance(node, exp.Escape) and isinstance(node.this, exp.Like)):
        return node
    like = node.this
    pattern = like.expression
    lower = isinstance(pattern, exp.Lower)
    literal = pattern.this if lower else pattern
    out, text, i = [], literal.this, 0
    while i < len(text):
        ch = text[i]
        if ch == LIKE_ESCAPE and i + 1 < len(text):
            out.append("\\" + text[i + 1])
            i += 2
            continue
        out.append("\\\\" if ch == "\\" else ch)
        i += 1
    new_pattern: exp.Expression = exp.Literal.string("".join(out))
    if lower:
        new_pattern = exp.Lower(this=new_pattern)
    return exp.Like(this=like.this, expression=new_pattern)


# --- FILTER clauses: Redshift has none ------------------------------------------------------------------

def filter_as_case(node: exp.Expression) -> exp.Expression:
    """agg(x) FILTER (WHERE p) -> agg(CASE WHEN p THEN x END); COUNT(*) counts CASE WHEN p THEN 1, so
    it stays 0 (never NULL) on no rows."""
    if not isinstance(node, exp.Filter):
        return node
    agg, predicate = node.this, node.expression.this
    value = agg.this
    if isinstance(value, exp.Star):
        value = exp.Literal.number(1)
    agg = agg.copy()
    if isinstance(value, exp.Distinct):  # COUNT(DISTINCT CASE WHEN p THEN x END)
        agg.set("this", exp.Distinct(expressions=[exp.Case().when(predicate, value.expressions[0])]))
    else:
        agg.set("this", exp.Case().when(predicate, value))
    return agg


# --- byte order: COLLATE "C" (plan.byte_order) is for DuckDB and PostgreSQL -----------------------------

def without_collation(node: exp.Expression) -> exp.Expression:
    """Engines that compare text by its bytes by default (Snowflake without a collation, ClickHouse,
    Spark, BigQuery, Trino, Redshift) and that spell COLLATE otherwise: the bare text."""
    return node.this if isinstance(node, exp.Collate) else node


# --- ClickHouse ---------------------------------------------------------------------------------------

def clickhouse_types(node: exp.Expression) -> exp.Expression:
    """TIMESTAMP keeps microseconds and UTC (sqlglot prints DateTime: whole seconds, server zone)."""
    if isinstance(node, exp.DataType) and node.is_type(exp.DType.TIMESTAMP, exp.DType.TIMESTAMPTZ):
        return exp.DataType.build("DateTime64(6, 'UTC')", dialect="clickhouse")
    return node


def clickhouse_safe_cast(node: exp.Expression) -> exp.Expression:
    """CAST(x AS Nullable(T)), sqlglot's TRY_CAST, throws on "n/a"; accurateCastOrNull does not.
    Times: ISO text only (parseDateTime64BestEffort reads "12" as a date), offsets honoured."""
    value = _timestamp_read(node)
    if value is not None:
        text = _text(value.copy())
        parse = exp.Anonymous(this="parseDateTime64BestEffortOrNull",
                              expressions=[text.copy(), exp.Literal.number(6), exp.Literal.string("UTC")])
        return exp.Case().when(_regex(text, ISO_TIME_TEXT), parse)
    if isinstance(node, exp.TryCast):
        to = clickhouse_types(node.to.copy())
        return exp.Anonymous(this="accurateCastOrNull",
                             expressions=[node.this, exp.Literal.string(to.sql("clickhouse"))])
    return node


def clickhouse_json_text(node: exp.Expression) -> exp.Expression:
    """JSON scalar as text, as DuckDB's ->> gives it: JSONExtractString is '' for a missing key and
    for numbers; the raw text of a number or boolean, the string of a string, NULL otherwise."""
    inner = node.this if isinstance(node, exp.Try) else node
    if not isinstance(inner, exp.JSONExtractScalar):
        return node
    keys = [exp.Literal.string(part.this) for part in inner.expression.expressions
            if isinstance(part, exp.JSONPathKey)]
    column = inner.this

    def call(name: str) -> exp.Expression:
        return exp.Anonymous(this=name, expressions=[column.copy(), *(k.copy() for k in keys)])

    kind = call("JSONType")
    return (exp.Case().when(kind.eq(exp.Literal.string("String")), call("JSONExtractString"))
            .when(kind.copy().isin(exp.Literal.string("Null"), exp.Literal.string("Object"),
                                   exp.Literal.string("Array")), exp.null())
            .else_(call("JSONExtractRaw")))


def clickhouse_split_part(node: exp.Expression) -> exp.Expression:
    """split_part (from `sql:` in DuckDB) as arrayElement(splitByString(..)): '' past the last
    part, as DuckDB; NULL for NULL (splitByString gives '')."""
    if not isinstance(node, exp.SplitPart):
        return node
    value = node.this
    parts = exp.Anonymous(this="splitByString", expressions=[node.args["delimiter"], value.copy()])
    part = exp.Anonymous(this="arrayElement", expressions=[parts, node.args["part_index"]])
    return exp.Case().when(exp.Is(this=value, expression=exp.null()), exp.null()).else_(part)


def clickhouse_lower(node: exp.Expression) -> exp.Expression:
    """lower() is ASCII-only in ClickHouse; ignore_case lower-cases every letter elsewhere."""
    if isinstance(node, exp.Lower):
        return exp.Anonymous(this="lowerUTF8", expressions=[node.this])
    return node


# --- fields: the JSON object a member carries -----------------------------------------------------------

def json_object_as(function: str):
    """JSON_OBJECT('k': v) is DuckDB's; Postgres 15 lacks it (JSON_BUILD_OBJECT), Redshift builds
    SUPER with OBJECT."""
    def rule(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.JSONObject):
            return node
        args = [a for pair in node.expressions for a in (pair.this, pair.expression)]
        return exp.Anonymous(this=function, expressions=args)
    return rule


def spark_try_cast(node: exp.Expression) -> exp.Expression:
    """sqlglot prints Spark's TRY_CAST only for casts marked safe, else CAST: "n/a" then aborts (ANSI mode)."""
    if isinstance(node, exp.TryCast):
        node.set("safe", True)
    return node


def spark_json_object(node: exp.Expression) -> exp.Expression:
    """TO_JSON(NAMED_STRUCT(..)) keeping NULL fields (Spark drops them by default)."""
    if not isinstance(node, exp.JSONObject):
        return node
    struct = exp.Anonymous(this="NAMED_STRUCT",
                           expressions=[a for pair in node.expressions for a in (pair.this, pair.expression)])
    options = exp.Anonymous(this="MAP", expressions=[exp.Literal.string("ignoreNullFields"),
                                                     exp.Literal.string("false")])
    return exp.Anonymous(this="TO_JSON", expressions=[struct, options])


def clickhouse_json_object(node: exp.Expression) -> exp.Expression:
    """One JSON row of the field columns, keyed by their names (the fields are people columns)."""
    if not isinstance(node, exp.JSONObject):
        return node
    values = [pair.expression for pair in node.expressions]
    return exp.Anonymous(this="formatRowNoNewline", expressions=[exp.Literal.string("JSONEachRow"), *values])


def clickhouse_join_nulls(root: exp.Expression) -> exp.Expression:
    """Outer joins fill missing rows with type defaults (0, 1970-01-01) unless join_use_nulls: an
    aggregate of no rows must be NULL (SPEC 4 rule 3)."""
    if isinstance(root, exp.Select):
        setting = exp.EQ(this=exp.column("join_use_nulls"), expression=exp.Literal.number(1))
        root.set("settings", [*(root.args.get("settings") or []), setting])
    return root
