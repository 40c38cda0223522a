"""`at_least: K` groups and split-aware segment references (SPEC section 4, "Groups" and "Segment
references"), over predicates the condition compiler has already built (each TRUE or FALSE)."""
from __future__ import annotations

from sqlglot import exp

from ..spec import model as m
from .literals import conjunction, disjunction, false_if_null
from .splits import split_expression


def at_least(k: int, items: list[exp.Expression]) -> exp.Expression:
    """At least k of the predicates hold: an OR when k is 1, an AND when k is their number (both read
    better and short-circuit), else a sum of 1s and 0s compared with k."""
    if k <= 1:
        return exp.paren(disjunction(items), copy=False)
    if k >= len(items):
        return exp.paren(conjunction(items), copy=False)
    ones = [exp.Case().when(item, exp.Literal.number(1)).else_(exp.Literal.number(0)) for item in items]
    total = ones[0]
    for one in ones[1:]:
        total = exp.Add(this=total, expression=one)
    return exp.paren(exp.GTE(this=exp.paren(total, copy=False), expression=exp.Literal.number(k)), copy=False)


def in_split_groups(member: exp.Expression, splits: m.Splits, groups: tuple[str, ...],
                    key: exp.Expression) -> exp.Expression:
    """A member of the referenced segment whose split group (SPEC section 6, the same CASE that
    gives members their `split` column) is one of `groups`. Listing every group that holds buckets
    is the plain reference; listing only groups of 0% selects nobody."""
    holding = [group for group, percent in splits.groups if percent]
    wanted = [group for group in holding if group in groups]
    if not wanted:
        return exp.false()
    if len(wanted) == len(holding):
        return member
    group = split_expression(splits, key)
    check = false_if_null(group.isin(*(exp.Literal.string(g) for g in wanted)))
    return exp.paren(exp.and_(member, check, copy=False), copy=False)
