"""Limits that keep a hostile or broken YAML file from hanging or crashing the loader.

Checked on the composed node graph, before any Python value is built: an alias is counted every time
it is used (a few hundred bytes of nested aliases can stand for millions of values, "billion laughs"),
nesting is bounded so that parsing never meets Python's recursion limit, and characters YAML forbids
are reported with their line instead of a byte position."""
from __future__ import annotations

import re
import unicodedata
from typing import Optional

import yaml

MAX_FILE_BYTES = 1_000_000   # a segment file of this size is generated data: use a static segment's CSV
MAX_NODES = 100_000          # values in one file once aliases are expanded
MAX_DEPTH = 200              # nested mappings and lists; conditions have their own, lower limit
# libyaml composes nodes recursively in C and crashes the interpreter (SIGSEGV) somewhere past 10,000
# levels with older libyaml builds (newer ones stop at 1,000), before any node exists to check: deep
# indentation and deep brackets are refused from the text first.
MAX_TEXT_DEPTH = 1000
_DEEP_PREFIX = re.compile(r"^[ \t?:-]{%d,}" % MAX_TEXT_DEPTH, re.MULTILINE)

# Characters outside YAML's printable set (YAML 1.1, section 5.1): control characters, surrogates, U+FFFE/F.
_UNPRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class YamlLimitError(Exception):
    def __init__(self, line: Optional[int], message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def check_characters(text: str) -> None:
    """Raise YamlLimitError at the first character YAML does not allow, with its line."""
    found = _UNPRINTABLE.search(text)
    if found:
        char = found.group()
        name = unicodedata.name(char, "") or {"\x00": "NUL", "\x1b": "ESC", "\x7f": "DEL"}.get(char) or \
            {"Cc": "a control character", "Cs": "a surrogate"}.get(unicodedata.category(char), "a noncharacter")
        line = text.count("\n", 0, found.start()) + 1
        escape = f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
        raise YamlLimitError(line, f"invalid YAML: character U+{ord(char):04X} ({name}) is not allowed in a YAML "
                                   f"file; remove it, or inside a double-quoted string write it as {escape}")


def check_indentation(text: str) -> None:
    """Raise YamlLimitError at a line indented past MAX_TEXT_DEPTH columns: block nesting is bounded by
    indentation, so below it libyaml cannot recurse deep enough to crash."""
    deep = _DEEP_PREFIX.search(text)
    if deep:
        raise YamlLimitError(text.count("\n", 0, deep.start()) + 1,
                             f"YAML indented more than {MAX_TEXT_DEPTH} columns (or as many `- `); flatten it")


def check_brackets(text: str) -> None:
    """Raise YamlLimitError where flow brackets nest past MAX_TEXT_DEPTH. Brackets in quoted strings
    and comments don't count as closing; anything unsure counts as opening, so the count errs high."""
    if text.count("[") + text.count("{") <= MAX_TEXT_DEPTH:  # the scan below costs a pass in Python
        return
    depth, quote, comment, escaped = 0, "", False, False
    for i, char in enumerate(text):
        if char in "[{":
            depth += 1
            if depth > MAX_TEXT_DEPTH:
                raise YamlLimitError(text.count("\n", 0, i) + 1,
                                     f"YAML brackets nested more than {MAX_TEXT_DEPTH} levels deep; flatten it")
        elif comment:
            comment = char != "\n"
        elif quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#":  # a comment, or text: either way its closing brackets may not close
            comment = True
        elif char in "]}":
            depth = max(depth - 1, 0)


def check_node(root: yaml.Node) -> None:
    """Raise YamlLimitError when the document nests deeper than MAX_DEPTH, refers to itself through an
    alias, or expands to more than MAX_NODES values. Iterative, and linear in the size of the text."""
    size: dict[int, int] = {}  # id(node) -> values it stands for, aliases expanded
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    depth = 0
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        if leaving:
            on_path.discard(key)
            depth -= 1
            size[key] = 1 + sum(size[id(child)] for child in _children(node))
            if size[key] > MAX_NODES:
                raise YamlLimitError(node.start_mark.line + 1,
                                     f"this YAML expands to more than {MAX_NODES:,} values (aliases count every "
                                     f"time they are used); split the file, or use a static segment for long "
                                     f"lists of people")
            continue
        if key in size:
            continue
        if key in on_path:
            raise YamlLimitError(node.start_mark.line + 1, "invalid YAML: an alias refers to the value that "
                                                           "contains it (a recursive structure)")
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            size[key] = 1
            continue
        depth += 1
        if depth > MAX_DEPTH:
            raise YamlLimitError(node.start_mark.line + 1, f"YAML nested more than {MAX_DEPTH} levels deep; "
                                                           "flatten it (e.g. one `all:` list instead of nested ones)")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _children(node: yaml.Node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
