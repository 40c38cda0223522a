"""What differs between dialects, as transforms on the expression tree before generation.

sqlglot's generator checks syntax, not support: it prints TRY() for engines without it and maps
a regex search to Snowflake's REGEXP_LIKE, which matches the whole string. Each rule here rewrites
the tree for the dialects that need it; every other dialect gets the tree unchanged."""
from __future__ import annotations

from typing import Callable

from sqlglot import exp
from sqlglot.dialects.snowflake import Snowflake


def _without_try(node: exp.Expression) -> exp.Expression:
    """TRY() exists only in DuckDB; elsewhere JSON functions are asked to be lenient on their own."""
    return node.this if isinstance(node, exp.Try) else node


def _regex_search(node: exp.Expression) -> exp.Expression:
    """Snowflake's REGEXP_LIKE anchors the pattern; REGEXP_INSTR(...) > 0 is a search, as SPEC 4 wants."""
    if isinstance(node, exp.RegexpLike):
        position = exp.RegexpInstr(this=node.this, expression=node.expression)
        return exp.GT(this=position, expression=exp.Literal.number(0))
    return node


RULES: dict[str, list[Callable[[exp.Expression], exp.Expression]]] = {
    "snowflake": [_without_try, _regex_search],
}
DEFAULT_RULES = [_without_try]
NATIVE = {"duckdb"}  # the dialect the tree is built for: nothing to rewrite


def prepare(expression: exp.Expression, dialect: str) -> exp.Expression:
    """The tree to generate `dialect` SQL from (rewritten in place)."""
    if dialect in NATIVE:
        return expression
    for rule in RULES.get(dialect, DEFAULT_RULES):
        expression = expression.transform(rule, copy=False)
    return expression


# Node types that sqlglot's Snowflake SELECT rewrites act on (UNNEST, EXPLODE, date arrays,
# DISTINCT ON, named windows, semi/anti joins, variant dot access). Our trees carry none of them
# unless a user's `sql:` does; skipping the rewrites then halves the time to compile for Snowflake
# (each builds a scope of every SELECT).
_SELECT_REWRITE_TRIGGERS = (exp.Unnest, exp.Explode, exp.GenerateDateArray, exp.Dot, exp.Window, exp.Distinct)
_snowflake_select = Snowflake.Generator.TRANSFORMS[exp.Select]


def _select_sql(self, expression: exp.Select) -> str:
    needs_rewrite = expression.args.get("windows") or any(
        join.args.get("kind") in ("SEMI", "ANTI") for join in expression.args.get("joins") or ())
    if needs_rewrite or expression.find(*_SELECT_REWRITE_TRIGGERS):
        return _snowflake_select(self, expression)
    return self.select_sql(expression)


class SegwarehouseSnowflake(Snowflake):
    """Snowflake, generating our SELECTs without rewrites they cannot need."""

    class Generator(Snowflake.Generator):
        TRANSFORMS = {**Snowflake.Generator.TRANSFORMS, exp.Select: _select_sql}


GENERATORS = {"snowflake": SegwarehouseSnowflake}


def generator_dialect(dialect: str):
    """The dialect (name or class) to hand sqlglot's generator."""
    return GENERATORS.get(dialect, dialect)
