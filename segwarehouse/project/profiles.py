"""profiles.yml, dbt style (SPEC section 9): where the warehouse is and how to reach it."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from ..errors import Problem, Problems, ValidationError, did_you_mean
from .templating import Renderer, TemplateRenderError
from ..yamlfile import YamlSyntaxError, line_of, load_yaml

PROFILES_FILE = "profiles.yml"
TARGET_TYPES = ("duckdb", "snowflake", "postgres")


SETTING_TYPES = {"path": str, "threads": int, "memory_limit": str, "port": int, "host": str, "user": str,
                 "password": str, "dbname": str, "schema": str, "database": str, "account": str, "role": str,
                 "warehouse": str, "sslmode": str, "private_key_path": str, "private_key_passphrase": str,
                 "authenticator": str, "query_tag": str, "protocol": str, "login_timeout": int}
# Per target type: the settings it needs, and every setting it knows (a typo is an error, not ignored).
REQUIRED = {"duckdb": (), "postgres": ("host", "user", "dbname"), "snowflake": ("account", "user", "database")}
KNOWN = {
    "duckdb": ("path", "threads", "memory_limit"),
    "postgres": ("host", "port", "user", "password", "dbname", "schema", "sslmode", "threads"),
    "snowflake": ("account", "user", "password", "private_key_path", "private_key_passphrase", "authenticator",
                  "role", "warehouse", "database", "schema", "query_tag", "threads", "login_timeout",
                  # a private-link or emulator endpoint instead of <account>.snowflakecomputing.com
                  "host", "port", "protocol"),
}
SNOWFLAKE_AUTH = ("password", "private_key_path", "authenticator")


def _check_settings(settings: dict, shown: str, problems: Problems) -> None:
    kind = settings["type"]
    for key in settings:
        if key not in KNOWN[kind] and key != "type":
            problems.add(shown, line_of(settings, key), f"`{key}` is not a {kind} setting"
                         f"{did_you_mean(str(key), KNOWN[kind])}; known: {', '.join(KNOWN[kind])}")
    for key in REQUIRED[kind]:
        if settings.get(key) in (None, ""):
            problems.add(shown, line_of(settings, "type"), f"a {kind} target needs `{key}`")
    if kind == "snowflake":
        auth = [k for k in SNOWFLAKE_AUTH if settings.get(k) not in (None, "")]
        if len(auth) != 1:
            problems.add(shown, line_of(settings, auth[1] if len(auth) > 1 else "type"),
                         "a snowflake target needs exactly one of `password`, `private_key_path` (key pair) or "
                         f"`authenticator: externalbrowser`{'; got ' + ', '.join(auth) if auth else ''}")
        elif auth == ["authenticator"] and str(settings["authenticator"]).lower() != "externalbrowser":
            problems.add(shown, line_of(settings, "authenticator"),
                         f"`authenticator` is externalbrowser (browser single sign-on), got {settings['authenticator']!r}")
    for key, expected in SETTING_TYPES.items():
        value = settings.get(key)
        if value is None:
            continue
        if expected is int and isinstance(value, str) and value.isdigit():
            settings[key] = int(value)  # env_var() renders numbers as text
            continue
        if not isinstance(value, expected) or isinstance(value, bool):
            kind = "a whole number" if expected is int else "a string"
            problems.add(shown, line_of(settings, key), f"`{key}` is {kind}, got {value!r}")


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
        return {"type": "duckdb", "path": str(project_dir / "segwarehouse.duckdb"), "name": "default"}
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
    if not isinstance(settings, dict) or settings.get("type") not in TARGET_TYPES:
        problems.add(shown, line_of(outputs, name), f"target '{name}' needs `type`: one of {', '.join(TARGET_TYPES)}")
        problems.raise_if_any()
    _check_settings(settings, shown, problems)
    problems.raise_if_any()
    settings = dict(settings)
    if settings["type"] == "duckdb" and settings.get("path") not in (None, ":memory:"):
        settings["path"] = str((project_dir / settings["path"]) if not Path(settings["path"]).is_absolute()
                               else Path(settings["path"]))
    settings["name"] = name
    return settings
