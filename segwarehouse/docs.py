"""`docs`: a static HTML catalogue of the project's segments, one self-contained file that opens
from disk or any web server (inline CSS, SVG and a few lines of plain JS; nothing fetched). Per
segment: its latest figures when a target was reachable (members, entered and exited at the last
run, when it ran), a size-over-time chart, its conditions read aloud (reading.py), references both
ways, fields, splits, destinations and tests, and the compiled SQL folded away (or why it does not
compile: a column the warehouse lacks). An overlap heatmap compares the segments, and a
search box filters them by name, tag, description and sentence."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import jinja2

from .charts import number, overlap_heatmap, size_chart
from .reading import lines
from .report import Report, overlap_pairs, shown, size_points
from .spec import model as m
from .spec.graph import dependents


@dataclass(frozen=True)
class Refusal:
    """Why a segment does not compile (a column the warehouse lacks), shown instead of its SQL."""

    message: str


@dataclass(frozen=True)
class Figures:
    """What the target says, or why there is nothing: `report` is None and `missing` says why."""

    report: Optional[Report] = None
    missing: str = ""
    target: str = ""


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ project }}: segments</title>
<style>
 body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
 table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd}
 td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
 .tag{background:#eef;border-radius:.3rem;padding:0 .35rem;margin-right:.2rem;font-size:.85em}
 pre{background:#f6f6f6;padding:.8rem;overflow:auto;font-size:.85em} section{margin-top:2.5rem}
 .muted{color:#777} ul.reading{list-style:none;padding-left:0} .reading li{margin:.15rem 0}
 .figures{display:flex;gap:2rem;margin:.6rem 0} .figures div{min-width:6rem}
 .figures b{display:block;font-size:1.4em;font-variant-numeric:tabular-nums}
 #search{font-size:1rem;padding:.45rem .6rem;width:100%;max-width:32rem;box-sizing:border-box}
 .refused{background:#fff6e5;border-left:3px solid #e0a030;padding:.6rem;white-space:pre-wrap}
</style></head><body>
<h1>{{ project }}</h1>
<p class="muted">{{ segments|length }} segments, generated {{ generated }} by segwarehouse docs.
{% if figures.report %}Figures from {{ figures.target }}.{% else %}<span id="no-figures">No figures: {{ figures.missing }}</span>{% endif %}</p>
<p><input id="search" type="search" autocomplete="off" placeholder="Search by name, tag, description or condition"
  aria-label="Search segments"> <span class="muted"><span id="shown">{{ segments|length }}</span> of {{ segments|length }} shown</span></p>
<table id="overview"><thead><tr><th>segment</th><th>description</th><th>tags</th>
{% if figures.report %}<th class="n">members</th><th class="n">entered</th><th class="n">exited</th><th>last run</th>{% endif %}</tr></thead><tbody>
{% for s in segments %}<tr class="segment-row" data-segment="{{ s.name }}" data-search="{{ search[s.name] }}">
<td><a href="#{{ s.name }}">{{ s.name }}</a>{% if not s.enabled %} <span class="muted">(disabled)</span>{% endif %}{% if s.static %} <span class="muted">(static)</span>{% endif %}</td>
<td>{{ s.description }}</td><td>{% for t in s.tags %}<span class="tag">{{ t }}</span>{% endfor %}</td>
{% if figures.report %}{% set f = latest.get(s.name) %}<td class="n members">{{ fmt("members", f.members) if f else "" }}</td>
<td class="n entered">{{ fmt("entered", f.entered) if f else "" }}</td><td class="n exited">{{ fmt("exited", f.exited) if f else "" }}</td>
<td class="last-run">{{ fmt("as_of", f.as_of) if f else "never" }}</td>{% endif %}</tr>
{% endfor %}</tbody></table>
{% if heatmap %}<h2>Overlap</h2>
<p class="muted">Each cell: the share of the row segment's current members who are also in the column segment.</p>
{{ heatmap }}{% endif %}
{% for s in segments %}
<section class="segment" id="{{ s.name }}" data-segment="{{ s.name }}" data-search="{{ search[s.name] }}"><h2>{{ s.name }}</h2>
<p>{{ s.description }}</p>
<p class="muted">defined in {{ s.location }}{% if s.owner %}, owned by {{ s.owner }}{% endif %}</p>
{% if figures.report %}{% set f = latest.get(s.name) %}{% if f %}<div class="figures">
<div>members<b class="members">{{ fmt("members", f.members) }}</b></div>
<div>entered<b class="entered">{{ fmt("entered", f.entered) }}</b></div>
<div>exited<b class="exited">{{ fmt("exited", f.exited) }}</b></div>
<div>last run<b class="last-run">{{ fmt("as_of", f.as_of) }}</b></div></div>
{{ charts[s.name] }}{% else %}<p class="muted">Not run yet on this target.</p>{% endif %}{% endif %}
<h3>People</h3>
<ul class="reading">{% for line in readings[s.name] %}
<li style="padding-left:{{ line.depth * 1.5 }}rem">{% if line.segment %}{{ line.text[:-(line.segment|length)] }}<a href="#{{ line.segment }}">{{ line.segment }}</a>{% else %}{{ line.text }}{% endif %}</li>{% endfor %}
</ul>
{% if s.depends_on %}<p>References: {% for r in s.depends_on %}<a href="#{{ r }}">{{ r }}</a> {% endfor %}</p>{% endif %}
{% if used_by[s.name] %}<p>Referenced by: {% for r in used_by[s.name] %}<a href="#{{ r }}">{{ r }}</a> {% endfor %}</p>{% endif %}
{% if s.fields %}<p>Fields: {{ s.fields|join(", ") }}</p>{% endif %}
{% if s.splits %}<p>Splits (salt {{ s.splits.salt }}): {% for g, pct in s.splits.groups %}{{ g }} {{ pct }}%{% if not loop.last %}, {% endif %}{% endfor %}</p>{% endif %}
{% if s.sync %}<p>Synced to: {% for x in s.sync %}{{ x.destination }}{% if x.list %} (list {{ x.list }}){% endif %}, on enter {{ x.on_enter }}, on exit {{ x.on_exit }}{% if not loop.last %}; {% endif %}{% endfor %}</p>{% endif %}
{% if s.tests %}<p>Tests: {{ s.tests|map(attribute="name")|join(", ") }}</p>{% endif %}
{% if sql[s.name] is refusal %}<details><summary>Compiled SQL ({{ dialect }}): does not compile</summary><p class="refused">{{ sql[s.name].message }}</p></details>
{% else %}<details><summary>Compiled SQL ({{ dialect }})</summary><pre>{{ sql[s.name] }}</pre></details>{% endif %}
</section>
{% endfor %}
<script>
// Search: every word typed must occur in a segment's name, tags, description or sentences.
(function () {
  var box = document.getElementById("search"), shown = document.getElementById("shown");
  function filter() {
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean), count = 0;
    document.querySelectorAll("[data-search]").forEach(function (el) {
      var text = el.getAttribute("data-search"), hit = words.every(function (w) { return text.indexOf(w) >= 0; });
      el.hidden = !hit;
      if (hit && el.tagName === "TR") count++;
    });
    shown.textContent = count;
  }
  box.addEventListener("input", filter);
  if (box.value) filter();  // a value the browser restored on back/forward
})();
</script>
</body></html>
"""


def search_text(segment: m.Segment) -> str:
    """What the search box matches, lower-cased: name, tags, description and every sentence."""
    return " ".join([segment.name, *segment.tags, segment.description,
                     *(line.text for line in lines(segment.condition))]).lower()


def render_catalogue(project: str, segments: dict[str, m.Segment], sql: dict[str, Union[str, Refusal]],
                     dialect: str, figures: Figures = Figures(missing="no target was given")) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.tests["refusal"] = lambda value: isinstance(value, Refusal)
    ordered = sorted(segments.values(), key=lambda s: s.name)
    report = figures.report
    latest = report.latest() if report else {}
    charts = {name: size_chart(size_points(report, name), f"{name}: members per run")
              for name in latest} if report else {}
    with_members = [s.name for s in ordered if latest.get(s.name)]
    heatmap = (overlap_heatmap(with_members, report.sizes, overlap_pairs(report))
               if report and len(with_members) > 1 else None)
    return env.from_string(TEMPLATE).render(
        project=project, segments=ordered, sql=sql, dialect=dialect, figures=figures, latest=latest,
        charts=charts, heatmap=heatmap, fmt=shown, number=number,
        readings={name: lines(s.condition) for name, s in segments.items()},
        search={name: search_text(s) for name, s in segments.items()}, used_by=dependents(segments),
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def write_catalogue(html: str, directory: Path) -> Path:
    """index.html in `directory`, written atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "index.html"
    tmp = directory / f".index.html.{os.getpid()}.tmp"
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path
