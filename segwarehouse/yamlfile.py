"""YAML loading that remembers the line of every mapping, key and list item."""
from __future__ import annotations

from typing import Any

import yaml

from . import yamllimits as limits


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
    def construct_object(self, node, deep=False):
        # A scalar that resolves to a type but can't be built (`2026-02-30`, `!!int ''`, an integer
        # of 5,000 digits) raises ValueError & co. from the constructor: report it where it is.
        try:
            return yaml.constructor.BaseConstructor.construct_object(self, node, deep=deep)
        except (ValueError, TypeError, IndexError, OverflowError, KeyError, AttributeError) as e:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {_show(node)} as {_tag(node)}: {e}", node.start_mark) from None


def _show(node: yaml.Node) -> str:
    value = node.value if isinstance(node, yaml.ScalarNode) else node.id
    text = repr(value)
    return text if len(text) < 40 else text[:37] + "..."


def _tag(node: yaml.Node) -> str:
    return node.tag.replace("tag:yaml.org,2002:", "!!")


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


def _unsupported(loader: _Loader, node: yaml.Node):
    raise yaml.constructor.ConstructorError(None, None, f"the YAML tag {_tag(node)} has no use in segwarehouse "
                                                        "files; write a plain list or mapping", node.start_mark)


for _tag_name in ("set", "omap", "pairs", "binary"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag_name}", _unsupported)


class YamlSyntaxError(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def load_yaml(text: str) -> Any:
    """Parse YAML text into YDict/YList/scalars; raises YamlSyntaxError with a 1-based line (also for
    the limits of yamllimits: forbidden characters, nesting, alias expansion)."""
    try:
        limits.check_characters(text)
        limits.check_indentation(text)
        limits.check_brackets(text)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            limits.check_node(node)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except limits.YamlLimitError as e:
        raise YamlSyntaxError(e.line, e.message) from None
    except RecursionError:  # constructing what check_node let through; not expected, never a traceback
        raise YamlSyntaxError(1, f"YAML nested too deeply; flatten it (at most {limits.MAX_DEPTH} levels)") from None
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
