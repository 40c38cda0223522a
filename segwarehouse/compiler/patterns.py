"""Customer.io-style patterns (SPEC section 4) as LIKE predicates.

`|` separates alternatives (loosest), `+` joins parts that must all occur (not in stream names),
`*` is any run of characters, a backslash escapes `| + * \\`. Everything else is literal, SQL
wildcards included: they are escaped for LIKE with `!`, which needs no escaping in any dialect's
string literals (a backslash does in some)."""
from __future__ import annotations

from sqlglot import exp

WILDCARD = object()
LIKE_ESCAPE = "!"
SPECIAL = "|+*\\"

Part = tuple  # of str and WILDCARD


def parse(pattern: str, plus_joins: bool) -> list[list[Part]]:
    """Alternatives, each a list of parts, each a tuple of literal strings and WILDCARDs."""
    alternatives: list[list[Part]] = []
    parts: list[Part] = []
    items: list = []
    text = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in SPECIAL:
            text += pattern[i + 1]
            i += 2
            continue
        if ch == "*":
            if text:
                items.append(text)
                text = ""
            if not items or items[-1] is not WILDCARD:
                items.append(WILDCARD)
        elif ch == "|" or (ch == "+" and plus_joins):
            if text:
                items.append(text)
                text = ""
            parts.append(tuple(items))
            items = []
            if ch == "|":
                alternatives.append(parts)
                parts = []
        else:
            text += ch
        i += 1
    if text:
        items.append(text)
    parts.append(tuple(items))
    alternatives.append(parts)
    return alternatives


def _like_text(part: Part, anchored: bool) -> str:
    body = "".join("%" if item is WILDCARD else _escape(item) for item in part)
    return body if anchored else f"%{body}%"


def _escape(text: str) -> str:
    return "".join(LIKE_ESCAPE + ch if ch in "%_" + LIKE_ESCAPE else ch for ch in text)


def like(value: exp.Expression, like_text: str, lower: bool = False) -> exp.Expression:
    pattern: exp.Expression = exp.Literal.string(like_text)
    if lower:
        value, pattern = exp.Lower(this=value), exp.Lower(this=pattern)
    return exp.Escape(this=exp.Like(this=value, expression=pattern), expression=exp.Literal.string(LIKE_ESCAPE))


def contains(value: exp.Expression, pattern: str, lower: bool = False) -> exp.Expression:
    """`contains:` semantics: any alternative whose parts all occur somewhere in the value."""
    alternatives = []
    for parts in parse(pattern, plus_joins=True):
        alternatives.append(exp.and_(*(like(value, _like_text(part, anchored=False), lower) for part in parts), copy=False))
    return exp.or_(*alternatives, copy=False) if len(alternatives) > 1 else alternatives[0]


def affix(value: exp.Expression, text: str, where: str, lower: bool = False) -> exp.Expression:
    """starts_with / ends_with: a literal prefix or suffix."""
    body = _escape(text)
    return like(value, body + "%" if where == "start" else "%" + body, lower)


def glob(value: exp.Expression, pattern: str) -> exp.Expression:
    """Stream names: anchored, case-sensitive; literal alternatives become one IN list."""
    literals, likes = [], []
    for (part,) in parse(pattern, plus_joins=False):
        if WILDCARD in part:
            likes.append(like(value, _like_text(part, anchored=True)))
        else:
            literals.append("".join(part))
    checks = likes
    if literals:
        checks = [value.eq(exp.Literal.string(literals[0])) if len(literals) == 1
                  else value.isin(*(exp.Literal.string(t) for t in literals))] + likes
    return exp.or_(*checks, copy=False) if len(checks) > 1 else checks[0]


def literal_names(pattern: str | None) -> list[str] | None:
    """The exact names a stream pattern matches, or None when it has a wildcard (or matches all)."""
    if pattern is None:
        return None
    names = []
    for (part,) in parse(pattern, plus_joins=False):
        if WILDCARD in part:
            return None
        names.append("".join(part))
    return names
