"""YAML loading that remembers the line of every mapping, key and list item."""
from __future__ import annotations

from typing import Any

import yaml


class Node:
    """Mixin: `line` of the value, and `key_lines` for a mapping's keys (1-based)."""

    line: int | None = None
    key_lines: dict


class YDict(dict, Node):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.key_lines = {}

    def line_of(self, key: str) -> int | None:
        return self.key_lines.get(key, self.line)


class YList(list, Node):
    def __init__(self, *a):
        super().__init__(*a)
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int | None:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


# libyaml's parser when PyYAML was built with it (several times faster), the pure one otherwise.
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> YDict:
    result = YDict()
    result.line = node.start_mark.line + 1
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be plain values", key_node.start_mark)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> YList:
    result = YList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class YamlSyntaxError(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def load_yaml(text: str) -> Any:
    """Parse YAML text into YDict/YList/scalars; raises YamlSyntaxError with a 1-based line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        # An unclosed bracket or quote is reported where the parser gave up, often lines later; the
        # line to fix is where it was opened (the context mark). Otherwise the problem mark is it.
        opened = e.context and ("flow" in e.context or "quoted" in e.context)
        mark = (e.context_mark if opened else None) or e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        message = " ".join(str(part) for part in (e.context, e.problem) if part)
        raise YamlSyntaxError(line, f"invalid YAML: {message}") from None
    except yaml.YAMLError as e:
        raise YamlSyntaxError(None, f"invalid YAML: {e}") from None


def line_of(container: Any, key: Any = None) -> int | None:
    """Best known line of `container[key]` (or of the container itself)."""
    if key is not None and hasattr(container, "line_of"):
        return container.line_of(key)
    return getattr(container, "line", None)
