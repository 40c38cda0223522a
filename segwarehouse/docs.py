"""`docs`: a static HTML catalogue of the project's segments, one self-contained file that opens
from disk or any web server: what each segment selects (its conditions read aloud), where it is
defined, what it references and what references it, its fields, splits, destinations and tests,
and the SQL it compiles to."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import jinja2

from .explain import describe
from .spec import model as m
from .spec.graph import dependents, walk

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ project }}: segments</title>
<style>
 body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
 table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd}
 .tag{background:#eef;border-radius:.3rem;padding:0 .35rem;margin-right:.2rem;font-size:.85em}
 pre{background:#f6f6f6;padding:.8rem;overflow:auto;font-size:.85em} section{margin-top:2.5rem}
 .muted{color:#777} ul.tree{list-style:none;padding-left:0} .tree li{font-family:ui-monospace,monospace}
</style></head><body>
<h1>{{ project }}</h1>
<p class="muted">{{ segments|length }} segments, generated {{ generated }} by segwarehouse docs.</p>
<table><thead><tr><th>segment</th><th>description</th><th>tags</th><th>kind</th><th>owner</th></tr></thead><tbody>
{% for s in segments %}<tr><td><a href="#{{ s.name }}">{{ s.name }}</a>{% if not s.enabled %} <span class="muted">(disabled)</span>{% endif %}</td>
<td>{{ s.description }}</td><td>{% for t in s.tags %}<span class="tag">{{ t }}</span>{% endfor %}</td>
<td>{{ "static" if s.static else "dynamic" }}</td><td>{{ s.owner or "" }}</td></tr>
{% endfor %}</tbody></table>
{% for s in segments %}
<section id="{{ s.name }}"><h2>{{ s.name }}</h2>
<p>{{ s.description }}</p>
<p class="muted">defined in {{ s.location }}</p>
<h3>Selects people where</h3>
<ul class="tree">{% for depth, text, ref in trees[s.name] %}
<li style="padding-left:{{ depth * 1.5 }}rem">{% if ref %}in segment <a href="#{{ ref }}">{{ ref }}</a>{% else %}{{ text }}{% endif %}</li>{% endfor %}
</ul>
{% if s.depends_on %}<p>References: {% for r in s.depends_on %}<a href="#{{ r }}">{{ r }}</a> {% endfor %}</p>{% endif %}
{% if used_by[s.name] %}<p>Referenced by: {% for r in used_by[s.name] %}<a href="#{{ r }}">{{ r }}</a> {% endfor %}</p>{% endif %}
{% if s.fields %}<p>Fields: {{ s.fields|join(", ") }}</p>{% endif %}
{% if s.splits %}<p>Splits (salt {{ s.splits.salt }}): {% for g, pct in s.splits.groups %}{{ g }} {{ pct }}%{% if not loop.last %}, {% endif %}{% endfor %}</p>{% endif %}
{% if s.sync %}<p>Synced to: {% for x in s.sync %}{{ x.destination }}{% if x.list %} (list {{ x.list }}){% endif %}, on enter {{ x.on_enter }}, on exit {{ x.on_exit }}{% if not loop.last %}; {% endif %}{% endfor %}</p>{% endif %}
{% if s.tests %}<p>Tests: {{ s.tests|map(attribute="name")|join(", ") }}</p>{% endif %}
<details><summary>Compiled SQL ({{ dialect }})</summary><pre>{{ sql[s.name] }}</pre></details>
</section>
{% endfor %}
</body></html>
"""


def condition_lines(segment: m.Segment, segments: dict[str, m.Segment]) -> list[tuple[int, str, str | None]]:
    """(depth, text, referenced segment or None) per condition node; references are links, not expanded."""
    return [(node.depth, describe(node.condition),
             node.condition.name if isinstance(node.condition, m.SegmentRef) else None)
            for node in walk(segment.condition)]


def render_catalogue(project: str, segments: dict[str, m.Segment], sql: dict[str, str], dialect: str) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(TEMPLATE).render(
        project=project, segments=sorted(segments.values(), key=lambda s: s.name), sql=sql, dialect=dialect,
        trees={name: condition_lines(s, segments) for name, s in segments.items()}, used_by=dependents(segments),
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def write_catalogue(html: str, directory: Path) -> Path:
    """index.html in `directory`, written atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "index.html"
    tmp = directory / f".index.html.{os.getpid()}.tmp"
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path
