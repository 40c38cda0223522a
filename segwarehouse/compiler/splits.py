"""Split groups (SPEC section 6): bucket = int(md5_hex(salt + ":" + str(key))[0:8], 16) % 100.

Engines have no common hex-to-integer function, so the first eight hex digits are converted with
portable arithmetic (STRPOS into '0123456789abcdef'): the same bucket on every engine and in Python."""
from __future__ import annotations

import hashlib

from sqlglot import exp

from ..spec import model as m
from .literals import TEXT, as_kind, data_type

HEX = "0123456789abcdef"


def bucket(salt: str, key) -> int:
    """The Python twin of the SQL below."""
    return int(hashlib.md5(f"{salt}:{key}".encode()).hexdigest()[0:8], 16) % 100


def bucket_expression(salt: str, key: exp.Expression) -> exp.Expression:
    digest = exp.MD5(this=exp.DPipe(this=exp.Literal.string(f"{salt}:"), expression=as_kind(key, TEXT), safe=True))
    total: exp.Expression | None = None
    for i in range(8):
        char = exp.Substring(this=digest.copy(), start=exp.Literal.number(i + 1), length=exp.Literal.number(1))
        # BIGINT: the top digit times 16**7 overflows a 32-bit INTEGER (Postgres' STRPOS result)
        position = exp.Cast(this=exp.StrPosition(this=exp.Literal.string(HEX), substr=char), to=data_type("BIGINT"))
        digit = exp.Sub(this=position, expression=exp.Literal.number(1))
        term = exp.Mul(this=exp.paren(digit), expression=exp.Literal.number(16 ** (7 - i)))
        total = term if total is None else exp.Add(this=total, expression=term)
    return exp.Mod(this=exp.paren(total), expression=exp.Literal.number(100))


def split_expression(splits: m.Splits, key: exp.Expression) -> exp.Expression:
    """CASE mapping the bucket to the group that owns it, groups in the order listed."""
    value = bucket_expression(splits.salt, key)
    case = exp.Case()
    upper = 0
    for group, percent in splits.groups:
        if percent == 0:
            continue
        upper += percent
        case = case.when(exp.LT(this=value.copy(), expression=exp.Literal.number(upper)), exp.Literal.string(group))
    return case


def group_of(splits: m.Splits, key) -> str | None:
    """Python twin of split_expression."""
    b, upper = bucket(splits.salt, key), 0
    for group, percent in splits.groups:
        upper += percent
        if percent and b < upper:
            return group
    return None
