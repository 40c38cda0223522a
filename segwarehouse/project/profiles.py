"""profiles.yml, dbt style (SPEC section 9): where the warehouse is and how to reach it."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from ..adapters import ADAPTERS, adapter_class
from ..errors import Problem, Problems, ValidationError, did_you_mean
from .templating import Renderer, TemplateRenderError
from ..yamlfile import YamlSyntaxError, line_of, load_yaml

PROFILES_FILE = "profiles.yml"


def _check_settings(settings: dict, shown: str, problems: Problems) -> None:
    """A target's settings against its adapter's declared SETTINGS: unknown names (a typo is an
    error, not ignored), required ones, types; then the adapter's own rules."""
    kind = settings["type"]
    adapter = adapter_class(kind)
    known = list(adapter.SETTINGS)
    for key in settings:
        if key not in adapter.SETTINGS and key != "type":
            problems.add(shown, line_of(settings, key), f"`{key}` is not a {kind} setting"
                         f"{did_you_mean(str(key), known)}; known: {', '.join(known)}")
    for key, setting in adapter.SETTINGS.items():
        value = settings.get(key)
        if setting.required and value in (None, ""):
            problems.add(shown, line_of(settings, "type"), f"a {kind} target needs `{key}`")
        if value is None:
            continue
        if setting.kind is int and isinstance(value, str) and value.isdigit():
            settings[key] = int(value)  # env_var() renders numbers as text
            continue
        if not isinstance(value, setting.kind) or isinstance(value, bool):
            expected = "a whole number" if setting.kind is int else "a string"
            got = "something else (not repeated: it is a secret)" if setting.secret else repr(value)
            problems.add(shown, line_of(settings, key), f"`{key}` is {expected}, got {got}")
    adapter.check_settings(settings, lambda key, message: problems.add(
        shown, line_of(settings, key if key is not None else "type"), message))


def find_profiles(project_dir: Path, profiles_dir: Optional[str]) -> Optional[Path]:
    """--profiles-dir, then $SEGWAREHOUSE_PROFILES_DIR, then the project, then ~/.segwarehouse/."""
    if profiles_dir:
        path = Path(profiles_dir) / PROFILES_FILE
        if not path.is_file():
            raise ValidationError(f"--profiles-dir {profiles_dir}: no {PROFILES_FILE} there")
        return path
    candidates = [os.environ.get("SEGWAREHOUSE_PROFILES_DIR"), project_dir, Path.home() / ".segwarehouse"]
    for directory in candidates:
        if directory and (Path(directory) / PROFILES_FILE).is_file():
            return Path(directory) / PROFILES_FILE
    return None


def resolve_target(project_dir: Path, profile: str, target: Optional[str], profiles_dir: Optional[str],
                   renderer: Renderer) -> dict[str, Any]:
    """The connection settings of the chosen target; the embedded DuckDB default without profiles.yml."""
    path = find_profiles(project_dir, profiles_dir)
    if path is None:
        if target not in (None, "default"):
            raise ValidationError(f"--target {target}: there is no {PROFILES_FILE} (looked in --profiles-dir, "
                                  f"$SEGWAREHOUSE_PROFILES_DIR, {project_dir}, ~/.segwarehouse)")
        default = {"type": "duckdb", "path": "segwarehouse.duckdb", "name": "default"}
        return adapter_class("duckdb").prepare(default, project_dir, None, {})
    shown = str(path)
    problems = Problems()
    try:
        raw = load_yaml(renderer.render(path.read_text(), shown))
    except (YamlSyntaxError, TemplateRenderError) as e:
        raise ValidationError([Problem(shown, e.line, e.message)]) from None
    if not isinstance(raw, dict) or profile not in raw:
        names = list(raw) if isinstance(raw, dict) else []
        raise ValidationError([Problem(shown, 1, f"no profile '{profile}' (the project's `profile`)"
                                                  f"{did_you_mean(profile, names)}")])
    spec = raw[profile]
    outputs = spec.get("outputs") if isinstance(spec, dict) else None
    if not isinstance(outputs, dict) or not outputs:
        raise ValidationError([Problem(shown, line_of(raw, profile), f"profile '{profile}' needs `outputs:`")])
    name = target or spec.get("target") or next(iter(outputs))
    if name not in outputs:
        line = line_of(spec, "target") if not target and "target" in spec else line_of(spec, "outputs")
        raise ValidationError([Problem(shown, line, f"profile '{profile}' has no target "
                                        f"'{name}'{did_you_mean(str(name), outputs)}; targets: {', '.join(outputs)}")])
    settings = outputs[name]
    if not isinstance(settings, dict) or settings.get("type") not in ADAPTERS:
        problems.add(shown, line_of(outputs, name), f"target '{name}' needs `type`: one of {', '.join(ADAPTERS)}")
        problems.raise_if_any()
    _check_settings(settings, shown, problems)
    problems.raise_if_any()
    lines = {key: line_of(settings, key) for key in settings}
    prepared = adapter_class(settings["type"]).prepare(dict(settings), project_dir, shown, lines)
    prepared["name"] = name
    return prepared
