"""fakesnow looks for session variables (`$NAME`) anywhere in a statement's text, string literals
included, so comparing a column with the text '$A' fails there with "Session variable '$A' does not
exist". Snowflake substitutes a variable only where an expression stands, never inside a quoted
string (https://docs.snowflake.com/en/sql-reference/session-variables#using-variables-in-sql): the
patch runs fakesnow's own substitution on the text between string literals only, so the emulator
is no harsher than Snowflake, and no kinder either (a real `$NAME` outside quotes still fails)."""
from __future__ import annotations

import re

from fakesnow.variables import Variables

_ORIGINAL = Variables.inline_variables
_STRING = re.compile(r"'(?:[^'\\]|\\.|'')*'", re.DOTALL)  # Snowflake escapes a quote as '' or \'


def _inline_outside_strings(self: Variables, sql: str) -> str:
    parts, last = [], 0
    for literal in _STRING.finditer(sql):
        parts += [_ORIGINAL(self, sql[last:literal.start()]), literal.group()]
        last = literal.end()
    return "".join(parts + [_ORIGINAL(self, sql[last:])])


def install() -> None:
    Variables.inline_variables = _inline_outside_strings
