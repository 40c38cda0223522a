"""Jinja rendering of project, profile and segment files, dbt style: macros, var(), env_var()."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Mapping

import jinja2

from ..errors import Problems


class _MissingValue(Exception):
    pass


class TemplateRenderError(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def _template_line(tb, filename: str) -> int | None:
    """The line of `filename` deepest in a traceback (Jinja maps template frames to template lines)."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


_MACRO_HEADER = re.compile(r"\{%-?\s*macro\s+\w+\s*\(([^)]*)\)")


def _duplicate_argument_line(source: str) -> int | None:
    """The line of a `{% macro name(a, a) %}` header: Jinja reports it from generated Python code,
    whose line numbers are not the template's."""
    for found in _MACRO_HEADER.finditer(source):
        names = [arg.split("=")[0].strip() for arg in found.group(1).split(",") if arg.strip()]
        if len(names) != len(set(names)):
            return source.count("\n", 0, found.start()) + 1
    return None


def _without_internal_names(message: str) -> str:
    """Jinja's generated code names an argument `a` as `l_1_a`, and cites its own line numbers."""
    message = re.sub(r"\bl_\d+_(\w+)", r"\1", message)
    return re.sub(r" \([^()]*, line \d+\)$", "", message)


def _deepest_line(text: str) -> int:
    """The line where brackets nest deepest (where to look when Jinja's parser ran out of stack)."""
    depth = deepest = 0
    line = best = 1
    for char in text:
        if char == "\n":
            line += 1
        elif char in "([{":
            depth += 1
            if depth > deepest:
                deepest, best = depth, line
        elif char in ")]}":
            depth -= 1
    return best


def _lookup(values: Mapping[str, Any], name: str, default: Any, missing: str) -> Any:
    if name in values:
        return values[name]
    if default is ...:
        raise _MissingValue(missing)
    return default


class Renderer:
    """Renders text with the project's macros and its vars in scope."""

    def __init__(self, vars: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None):
        self.vars = dict(vars or {})
        self.environ = os.environ if env is None else env
        self.env = jinja2.Environment(
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
        self.env.globals.update(var=self._var, env_var=self._env_var)

    def _var(self, name: str, default: Any = ...) -> Any:
        return _lookup(self.vars, name, default,
                       f"var('{name}') is not defined: add it under `vars:` in segwarehouse.yml or pass --vars")

    def _env_var(self, name: str, default: Any = ...) -> Any:
        return _lookup(self.environ, name, default,
                       f"env_var('{name}') is not set: export {name} or give a default, env_var('{name}', '...')")

    def load_macros(self, macro_dir: Path, problems: Problems, root: Path) -> None:
        """Make every `{% macro %}` under macro_dir callable from any rendered file."""
        if not macro_dir.is_dir():
            return
        sources = {str(p.relative_to(root)): p for p in sorted(macro_dir.rglob("*.sql"))}
        # Loaded by name, so a traceback frame of a macro carries its file, not "<template>".
        self.env.loader = jinja2.FunctionLoader(
            lambda name: (sources[name].read_text(), name, lambda: True) if name in sources else None)
        for shown in sources:
            try:
                module = self.env.get_template(shown).module
            except jinja2.TemplateSyntaxError as e:
                problems.add(shown, e.lineno, f"invalid Jinja: {e.message}")
                continue
            except Exception as e:  # a macro file's top level failed to render
                line = _template_line(sys.exc_info()[2], shown) or _duplicate_argument_line(sources[shown].read_text())
                problems.add(shown, line or 1, f"could not load macros: {_without_internal_names(str(e))}")
                continue
            for name in dir(module):
                value = getattr(module, name)
                if isinstance(value, jinja2.runtime.Macro):
                    self.env.globals[name] = value

    def render(self, text: str, filename: str) -> str:
        """Render; errors become TemplateRenderError with the template's line."""
        if "{" not in text:
            return text
        try:
            template = self.env.from_string(text)
        except jinja2.TemplateSyntaxError as e:
            raise TemplateRenderError(e.lineno, f"invalid Jinja: {e.message}") from None
        except RecursionError:  # Jinja's parser recurses per bracket: [[[[... inside {{ }}
            raise TemplateRenderError(_deepest_line(text), "invalid Jinja: brackets nested too deeply") from None
        try:
            return template.render()
        except _MissingValue as e:
            raise TemplateRenderError(_template_line(sys.exc_info()[2], "<template>"), str(e)) from None
        except jinja2.UndefinedError as e:
            raise TemplateRenderError(
                _template_line(sys.exc_info()[2], "<template>"),
                f"{e.message}: is it a macro under macros/ or a var()?") from None
        except Exception as e:  # noqa: BLE001 - any error raised while rendering user templates
            raise TemplateRenderError(
                _template_line(sys.exc_info()[2], "<template>"), f"Jinja error: {e}") from None
