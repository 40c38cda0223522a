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
    "duckdb": [],  # the dialect the tree is built for
    "snowflake": [_without_try, _regex_search],
}
DEFAULT_RULES = [_without_try]

# Node types that sqlglot's Snowflake SELECT rewrites act on (UNNEST, EXPLODE, date arrays,
# DISTINCT ON, named windows, semi/anti joins, variant dot access). Our trees carry none of them
# unless a user's `sql:` does; skipping the rewrites then halves the time to compile for Snowflake
# (each builds a scope of every SELECT).
_SELECT_REWRITE_TRIGGERS = (exp.Unnest, exp.Explode, exp.GenerateDateArray, exp.Dot, exp.Window, exp.Distinct)


class SegwarehouseSnowflake(Snowflake):
    """Snowflake, generating SELECTs without the rewrites that only the trigger nodes need."""

    class Generator(Snowflake.Generator):
        TRANSFORMS = {**Snowflake.Generator.TRANSFORMS, exp.Select: lambda self, e: self.select_sql(e)}


LEAN = {"snowflake": SegwarehouseSnowflake}


def _needs_select_rewrites(node: exp.Expression) -> bool:
    if isinstance(node, _SELECT_REWRITE_TRIGGERS):
        return True
    return isinstance(node, exp.Select) and bool(node.args.get("windows") or any(
        join.args.get("kind") in ("SEMI", "ANTI") for join in node.args.get("joins") or ()))


def rewrite(expression: exp.Expression, dialect: str) -> tuple[exp.Expression, bool]:
    """The dialect's rules applied to the tree (in place), in one walk that also tells whether the
    tree holds nodes that sqlglot's own SELECT rewrites act on."""
    rules = RULES.get(dialect, DEFAULT_RULES)
    needs_rewrites = False

    def visit(node: exp.Expression) -> exp.Expression:
        nonlocal needs_rewrites
        for rule in rules:
            node = rule(node)
        needs_rewrites = needs_rewrites or _needs_select_rewrites(node)
        return node

    return expression.transform(visit, copy=False), needs_rewrites


def render(expression: exp.Expression, dialect: str, **options) -> str:
    """SQL for `dialect`, every identifier quoted."""
    if dialect in LEAN or RULES.get(dialect, DEFAULT_RULES):
        expression, needs_rewrites = rewrite(expression, dialect)
        generator = dialect if needs_rewrites else LEAN.get(dialect, dialect)
    else:
        generator = dialect
    return expression.sql(dialect=generator, identify=True, copy=False, **options)
