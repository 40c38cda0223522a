"""Load a project from disk: render every file, parse it, and validate it as a whole."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from ..errors import Problem, Problems, ValidationError, check_keys, did_you_mean
from ..spec import model as m
from ..spec.conditions import Context, walk
from ..spec.graph import cycles, topological
from ..spec.segments import parse_segment
from .config import PROJECT_FILE, parse_project
from .templating import Renderer, TemplateRenderError
from ..spec.values import printable
from ..yamlfile import YamlSyntaxError, line_of, load_yaml
from ..yamllimits import MAX_FILE_BYTES


# A whole-project check run after parsing (sync.config.check is one): it adds its problems to the
# others, so every problem is still reported at once, and project/ need not know what it checks.
Check = Callable[[m.ProjectConfig, dict, Problems], None]


@dataclass
class LoadedProject:
    config: m.ProjectConfig
    segments: dict[str, m.Segment]  # in dependency order: a segment comes after those it references
    renderer: Renderer
    warnings: list[Problem] = field(default_factory=list)  # FILE:LINE notes `validate` shows; nothing fails

    @property
    def root(self) -> Path:
        return Path(self.config.root)


def _read(path: Path, shown: str, renderer: Renderer, problems: Problems) -> Any:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.add(shown, 1, f"file of {path.stat().st_size:,} bytes; segwarehouse reads files of at most "
                                   f"{MAX_FILE_BYTES:,} (long lists of people belong in a static segment's CSV)")
            return None
        text = renderer.render(path.read_text(encoding="utf-8"), shown)
        return load_yaml(text)
    except (TemplateRenderError, YamlSyntaxError) as e:
        problems.add(shown, e.line, e.message)
    except UnicodeDecodeError as e:
        line = e.object[:e.start].count(b"\n") + 1
        problems.add(shown, line, f"not UTF-8 text (byte {e.object[e.start]:#x} at offset {e.start}); save the file "
                                  "as UTF-8")
    except OSError as e:
        problems.add(shown, None, f"cannot read: {e}")
    return None


def load_project(project_dir: str | Path, vars_override: Optional[Mapping[str, Any]] = None,
                 environ: Optional[Mapping[str, str]] = None, checks: Sequence[Check] = ()) -> LoadedProject:
    """Parse segwarehouse.yml, macros/ and segments/, then run `checks` over the parsed project;
    raise ValidationError listing every problem."""
    root = Path(project_dir).resolve()
    problems = Problems()
    project_path = root / PROJECT_FILE
    if not project_path.is_file():
        raise ValidationError(f"{project_path}: no {PROJECT_FILE} here; run `segwarehouse init DIR` to "
                              "scaffold a project, or pass --project-dir")
    bootstrap = Renderer(vars=vars_override, env=environ)
    raw_project = _read(project_path, PROJECT_FILE, bootstrap, problems)
    problems.raise_if_any()
    config = parse_project(raw_project, root, problems)
    problems.raise_if_any()
    config.vars.update(vars_override or {})
    renderer = Renderer(vars=config.vars, env=environ)
    renderer.load_macros(root / "macros", problems, root)

    segments: dict[str, m.Segment] = {}
    references: dict[str, list] = {}
    for path in sorted((root / "segments").rglob("*.y*ml")):
        shown = printable(str(path.relative_to(root)))  # a file name may hold a line break or non-UTF-8 bytes
        raw = _read(path, shown, renderer, problems)
        if raw is None:
            continue
        ctx = Context(problems, shown, config.streams, config.source_dialect, root=root, time_zone=config.time_zone)
        if isinstance(raw, dict) and "segments" in raw and "name" not in raw:
            check_keys(raw, ("segments",), "beside `segments:`", problems, shown)
            items = raw["segments"]
            if not isinstance(items, list):
                problems.add(shown, line_of(raw, "segments"), "`segments:` is a list of segments")
                continue
            entries = [(item, line_of(items, i)) for i, item in enumerate(items)]
        else:
            entries = [(raw, 1)]
        for item, line in entries:
            ctx.references = []
            segment = parse_segment(item, ctx, config.people, line)
            if segment is None:
                continue
            if segment.name in segments:
                first = segments[segment.name]
                problems.add(shown, segment.name_line, f"segment '{segment.name}' is defined twice "
                                                  f"(first at {first.location}); names are unique in a project")
                continue
            segments[segment.name] = segment
            references[segment.name] = list(ctx.references)
    _check_references(segments, references, problems)
    _check_split_references(segments, problems)
    for check in checks:
        check(config, segments, problems)
    problems.raise_if_any()
    return LoadedProject(config, topological(segments), renderer)


def _check_references(segments: dict[str, m.Segment], references: dict, problems: Problems) -> None:
    for name, refs in references.items():
        segment = segments[name]
        for ref, line in refs:
            if ref not in segments:
                others = [s for s in segments if s != name]
                problems.add(segment.file, line, f"segment '{name}' references unknown segment '{ref}'"
                                                 f"{did_you_mean(ref, others)}")
            elif not segments[ref].enabled and segment.enabled:
                problems.add(segment.file, line, f"segment '{name}' references '{ref}', which is disabled "
                                                 f"(enabled: false); enable it or drop the reference")
    for cycle in cycles(segments):
        first = segments[cycle[0]]
        problems.add(first.file, first.line, "segment references form a cycle: " + " -> ".join(cycle + [cycle[0]]))


def _check_split_references(segments: dict[str, m.Segment], problems: Problems) -> None:
    """`{segment: X, split: [...]}`: X has `splits`, and every group listed is one of them (SPEC 4)."""
    def check(segment: m.Segment, node: m.Condition) -> None:
        if not isinstance(node, m.SegmentRef) or not node.split or node.name not in segments:
            return
        splits = segments[node.name].splits
        if splits is None:
            problems.add(segment.file, node.line, f"segment '{node.name}' has no `splits`, so `split: "
                         f"[{', '.join(node.split)}]` selects nothing; drop `split:` or give '{node.name}' splits")
            return
        groups = [group for group, _ in splits.groups]
        for group in node.split:
            if group not in groups:
                problems.add(segment.file, node.line, f"segment '{node.name}' has no split group '{group}'"
                             f"{did_you_mean(group, groups)}; its groups: {', '.join(groups)}")

    for segment in segments.values():
        walk(segment.condition, lambda node, segment=segment: check(segment, node))

