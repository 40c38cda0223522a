"""The language's second edition (SPEC section 4, extended; issue 11): parsing and validation.

Every new key is checked with FILE:LINE and a did-you-mean where a near name exists, through the API
and through `segwarehouse validate` in a subprocess (exit 2, no traceback, nothing written). Valid new
constructs validate, and every command takes them.
"""
from __future__ import annotations

import subprocess

import duckdb
import pytest

from conftest import PROJECT_YML, write_project
from segwarehouse import Project, ValidationError
from segwarehouse.project.loader import load_project
from segwarehouse.spec import model as m
from test_validation import S, Case, api_case_holds, assert_cli_problem, cli, cli_case_holds, make, output, validate_cases

SPLIT_SOURCE = """\
    name: experiment
    splits: {groups: {control: 10, variant_a: 90}}
    where: {attribute: plan, equals: pro}
    """

CASES = [
    # --- calendar windows: during ---------------------------------------------------------------------
    Case("during_unknown_unit", {"u.yml": """\
        name: u
        where:
          event: purchase
          during:
            unit: wek
        """}, [(S + "u.yml", 5, "wek", "did you mean 'week'")]),
    Case("during_positive_offset", {"o.yml": """\
        name: o
        where:
          attribute: created_at
          during: {unit: month,
                   offset: 1}
        """}, [(S + "o.yml", 5, "offset", "negative")]),
    Case("during_unknown_key", {"k.yml": """\
        name: k
        where:
          event: purchase
          during:
            unit: day
            ofset: -1
        """}, [(S + "k.yml", 6, "ofset", "did you mean 'offset'")]),
    Case("during_not_a_mapping", {"d.yml": """\
        name: d
        where:
          attribute: created_at
          during: week
        """}, [(S + "d.yml", 4, "during", "unit")]),
    # --- after / before -------------------------------------------------------------------------------
    Case("after_unknown_key", {"a.yml": """\
        name: a
        where:
          event: purchase
          after:
            attribute: created_at
            withn: 7d
        """}, [(S + "a.yml", 6, "withn", "did you mean 'within'")]),
    Case("before_not_a_mapping", {"b.yml": """\
        name: b
        where:
          event: purchase
          before: created_at
        """}, [(S + "b.yml", 4, "before", "attribute")]),
    Case("after_bad_within", {"w.yml": """\
        name: w
        where:
          event: purchase
          after: {attribute: created_at,
                  within: 7 days}
        """}, [(S + "w.yml", 5, "7 days")]),
    # --- at_least -------------------------------------------------------------------------------------
    Case("at_least_more_than_listed", {"k3.yml": """\
        name: k3
        where:
          at_least: 3
          of:
            - {attribute: plan, equals: pro}
            - {event: purchase}
        """}, [(S + "k3.yml", 3, "at_least", "1 to 2")]),
    Case("at_least_zero", {"k0.yml": """\
        name: k0
        where:
          at_least: 0
          of: [{attribute: plan, equals: pro}]
        """}, [(S + "k0.yml", 3, "at_least", "1 to 1")]),
    Case("at_least_without_of", {"no_of.yml": """\
        name: no_of
        where:
          at_least: 1
          ofs: [{attribute: plan, equals: pro}]
        """}, [(S + "no_of.yml", 4, "ofs", "did you mean 'of'"), (S + "no_of.yml", 3, "of:")]),
    Case("at_least_bad_child", {"child.yml": """\
        name: child
        where:
          at_least: 1
          of:
            - attribute: plan
              equal: pro
        """}, [(S + "child.yml", 6, "equal", "did you mean 'equals'")]),
    # --- sequence -------------------------------------------------------------------------------------
    Case("sequence_one_step", {"one.yml": """\
        name: one
        where:
          sequence:
            - event: purchase
        """}, [(S + "one.yml", 3, "2 to 8", "1 step")]),
    Case("sequence_nine_steps", {"nine.yml": "name: nine\nwhere:\n  sequence:\n"
                                             + "    - event: purchase\n" * 9},
         [(S + "nine.yml", 3, "2 to 8", "9 step")]),
    Case("sequence_performed_not_last", {"perf.yml": """\
        name: perf
        where:
          sequence:
            - event: add_to_cart
              performed: false
            - event: purchase
        """}, [(S + "perf.yml", 5, "only the last step", "performed")]),
    Case("sequence_within_after_and_same_on_first_step", {"first.yml": """\
        name: first
        where:
          sequence:
            - event: add_to_cart
              within_after: 1h
              same: [properties.sku]
            - event: purchase
        """}, [(S + "first.yml", 5, "within_after", "first step"), (S + "first.yml", 6, "same", "first step")]),
    Case("sequence_aggregate_on_a_step", {"agg.yml": """\
        name: agg
        where:
          sequence:
            - event: add_to_cart
            - event: purchase
              count: {gte: 2}
        """}, [(S + "agg.yml", 6, "count", "aggregate")]),
    Case("sequence_step_key_typo", {"typo.yml": """\
        name: typo
        where:
          sequence:
            - event: add_to_cart
            - event: purchase
              within_afer: 1h
        """}, [(S + "typo.yml", 6, "within_afer", "did you mean 'within_after'")]),
    Case("sequence_step_is_not_a_stream", {"attr.yml": """\
        name: attr
        where:
          sequence:
            - event: add_to_cart
            - attribute: plan
              equals: pro
        """}, [(S + "attr.yml", 5, "stream condition", "attribute")]),
    Case("sequence_bad_same_and_within_after", {"same.yml": """\
        name: same
        where:
          sequence:
            - event: add_to_cart
            - event: purchase
              same: properties.sku
              within_after: soon
        """}, [(S + "same.yml", 6, "same", "list"), (S + "same.yml", 7, "within_after", "soon")]),
    Case("sequence_step_window_error", {"win.yml": """\
        name: win
        where:
          sequence:
            - event: add_to_cart
              during: {unit: fortnight}
            - event: purchase
        """}, [(S + "win.yml", 5, "fortnight")]),
    # --- stream aggregates ----------------------------------------------------------------------------
    Case("nth_n_below_one", {"nth.yml": """\
        name: nth
        where:
          event: purchase
          nth:
            n: 0
            within: 7d
        """}, [(S + "nth.yml", 5, "n:", ">= 1")]),
    Case("nth_without_n", {"nth_n.yml": """\
        name: nth_n
        where:
          event: purchase
          nth: {within: 7d}
        """}, [(S + "nth_n.yml", 4, "nth", "n:")]),
    Case("nth_compared_with_a_number", {"nth_num.yml": """\
        name: nth_num
        where:
          event: purchase
          nth:
            n: 2
            gte: 5
        """}, [(S + "nth_num.yml", 6, "nth", "time")]),
    Case("distinct_without_of", {"dist.yml": """\
        name: dist
        where:
          event: purchase
          distinct: {gte: 3}
        """}, [(S + "dist.yml", 4, "distinct", "of:")]),
    Case("most_frequent_without_of", {"mf.yml": """\
        name: mf
        where:
          event: purchase
          most_frequent: {equals: coats}
        """}, [(S + "mf.yml", 4, "most_frequent", "of:")]),
    Case("most_frequent_non_text_operator", {"mf_gte.yml": """\
        name: mf_gte
        where:
          event: purchase
          most_frequent:
            of: properties.category
            gte: 3
        """}, [(S + "mf_gte.yml", 6, "most_frequent", "gte", "equals")]),
    Case("most_frequent_number_literal", {"mf_num.yml": """\
        name: mf_num
        where:
          event: purchase
          most_frequent:
            of: properties.size
            equals: 42
        """}, [(S + "mf_num.yml", 6, "text", "quote")]),
    Case("distinct_days_text_literal", {"days.yml": """\
        name: days
        where:
          event: purchase
          distinct_days:
            equals: many
        """}, [(S + "days.yml", 5, "distinct_days", "numbers")]),
    Case("aggregate_key_typo", {"agg_typo.yml": """\
        name: agg_typo
        where:
          event: purchase
          distinc: {of: properties.sku, gte: 2}
        """}, [(S + "agg_typo.yml", 4, "distinc", "did you mean 'distinct'")]),
    # --- segment references with split ----------------------------------------------------------------
    Case("split_unknown_group", {"experiment.yml": SPLIT_SOURCE, "ref.yml": """\
        name: ref
        where:
          all:
            - attribute: plan
              equals: pro
            - segment: experiment
              split: [contrl]
        """}, [(S + "ref.yml", 6, "contrl", "did you mean 'control'", "variant_a")]),
    Case("split_of_a_segment_without_splits", {"plain.yml": "name: plain\nwhere: {attribute: plan, equals: pro}\n",
                                               "ref.yml": """\
        name: ref
        where:
          segment: plain
          split: [control]
        """}, [(S + "ref.yml", 3, "plain", "no `splits`")]),
    Case("split_not_a_list", {"experiment.yml": SPLIT_SOURCE, "ref.yml": """\
        name: ref
        where:
          segment: experiment
          split: control
        """}, [(S + "ref.yml", 4, "split", "list")]),
    Case("split_key_typo", {"experiment.yml": SPLIT_SOURCE, "ref.yml": """\
        name: ref
        where:
          segment: experiment
          splits: [control]
        """}, [(S + "ref.yml", 4, "splits", "did you mean 'split'")]),
    # --- the project file -----------------------------------------------------------------------------
    Case("time_zone_unknown", {"ok.yml": "name: ok\nwhere: {attribute: plan, equals: pro}\n"}, [
        ("segwarehouse.yml", 8, "time_zone", "Europe/Berln", "did you mean 'Europe/Berlin'")],
        project_yml=PROJECT_YML + "time_zone: Europe/Berln\n"),
    Case("time_zone_not_text", {"ok.yml": "name: ok\nwhere: {attribute: plan, equals: pro}\n"}, [
        ("segwarehouse.yml", 8, "time_zone", "IANA")], project_yml=PROJECT_YML + "time_zone: 1\n"),
    Case("stream_named_after_a_new_keyword", {"ok.yml": "name: ok\nwhere: {attribute: plan, equals: pro}\n"}, [
        ("segwarehouse.yml", 8, "sequence", "reserved")],
        project_yml=PROJECT_YML + "  sequence: {table: main.seq, key: user_id, timestamp: at}\n"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_api_reports_new_constructs_at_their_file_and_line(tmp_path, case):
    api_case_holds(make(tmp_path, case), case)


@pytest.fixture(scope="module")
def validate_all_cases(tmp_path_factory):
    return validate_cases(tmp_path_factory, CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_validate_reports_new_constructs_and_exits_2(validate_all_cases, case):
    project, result = validate_all_cases[case.id]
    cli_case_holds(project, result, case)


# --- valid constructs validate, into the model they mean ------------------------------------------
VALID = {
    "experiment.yml": SPLIT_SOURCE,
    "second.yml": """\
        segments:
          - name: groups
            where:
              at_least: 2
              of:
                - {attribute: created_at, during: {unit: week, offset: -1}}
                - {attribute: plan, equals: pro}
                - {segment: experiment, split: [variant_a]}
          - name: windows
            where:
              event: purchase
              during: {unit: quarter}
              after: {attribute: created_at, within: 7d}
              before: {attribute: trial_ends_at}
              where:
                created: {during: {unit: day, offset: -2}}
          - name: aggregates
            where:
              event: purchase
              nth: {n: 3, within: 7d}
              distinct: {of: properties.sku, gte: 3}
              distinct_days: {gte: 5}
              most_frequent: {of: properties.category, in: [coats, boots], ignore_case: true}
          - name: abandoned
            where:
              sequence:
                - event: add_to_cart
                  within: 7d
                - page_view: "*/checkout*"
                  within_after: 30m
                - event: purchase
                  within_after: 1h
                  same: [properties.sku]
                  performed: false
        """,
}
TWO_STREAMS = PROJECT_YML + "  page_view: {table: main.page_views, key: user_id, timestamp: viewed_at, name: url}\n" \
                            "time_zone: Europe/Berlin\n"


def test_valid_new_constructs_validate_into_the_model(tmp_path):
    project_dir = write_project(tmp_path / "p", VALID, TWO_STREAMS)
    Project(project_dir).validate()
    loaded = load_project(project_dir)
    assert loaded.config.time_zone == "Europe/Berlin"
    groups = loaded.segments["groups"].condition
    assert isinstance(groups, m.AtLeast) and groups.k == 2 and len(groups.items) == 3
    # a period carries the project's zone, so every consumer resolves it alike
    assert groups.items[0].ops == (m.Op("during", m.CalendarPeriod("week", -1, "Europe/Berlin")),)
    assert groups.items[2] == m.SegmentRef("experiment", ("variant_a",))
    assert loaded.segments["groups"].depends_on == ("experiment",)
    window = loaded.segments["windows"].condition.match.window
    assert window.during == m.CalendarPeriod("quarter", 0, "Europe/Berlin")
    assert window.after == m.Anchor("created_at", m.Duration(7, "d")) and window.before == m.Anchor("trial_ends_at")
    aggregates = {a.kind: a for a in loaded.segments["aggregates"].condition.aggregates}
    assert set(aggregates) == {"nth", "distinct", "distinct_days", "most_frequent"}  # no default count
    assert aggregates["nth"].n == 3 and aggregates["distinct"].of == m.Path("properties", ("sku",))
    assert aggregates["most_frequent"].ignore_case and aggregates["most_frequent"].ops[0].value == ("coats", "boots")
    steps = loaded.segments["abandoned"].condition.steps
    assert [s.match.stream for s in steps] == ["event", "page_view", "event"]
    assert steps[0].match.window.within == m.Duration(7, "d") and steps[0].within_after is None
    assert steps[1].within_after == m.Duration(30, "m") and steps[1].performed
    assert steps[2].same == (m.Path("properties", ("sku",)),) and steps[2].performed is False
    result = cli(project_dir, "validate")
    assert result.returncode == 0, output(result)


def test_time_zone_defaults_to_utc(tmp_path):
    project_dir = write_project(tmp_path / "p", {"ok.yml": "name: ok\nwhere: {attribute: plan, equals: pro}\n"})
    assert load_project(project_dir).config.time_zone == "UTC"


# --- every command takes every construct ------------------------------------------------------------
CONSTRUCTS = {  # construct -> a segment using it
    "at_least": "name: at_least\nwhere:\n  at_least: 1\n  of: [{attribute: plan, equals: pro}]\n",
    "sequence": "name: sequence\nwhere:\n  sequence:\n    - event: add_to_cart\n    - event: purchase\n"
                "      after: {attribute: created_at}\n",
    "during": "name: during\nwhere:\n  attribute: created_at\n  during: {unit: month}\n",
    "after": "name: after\nwhere:\n  event: purchase\n  after: {attribute: created_at}\n",
    "before": "name: before\nwhere:\n  not:\n    event: purchase\n    before: {attribute: created_at, within: 1d}\n",
    "nth": "name: nth\nwhere:\n  event: purchase\n  nth: {n: 2, within: 7d}\n",
    "distinct": "name: distinct\nwhere:\n  event: purchase\n  distinct: {of: properties.sku, gte: 2}\n",
    "distinct_days": "name: distinct_days\nwhere:\n  event: purchase\n  distinct_days: {gte: 2}\n",
    "most_frequent": "name: most_frequent\nwhere:\n  event: purchase\n  most_frequent: {of: properties.sku, equals: x}\n",
    "split": "name: split\nwhere:\n  none:\n    - segment: experiment\n      split: [control]\n",
}


def test_every_command_takes_every_second_edition_construct(tmp_path):
    """compile, run, preview and explain: each construct of SPEC section 4, in one project; what
    preview counts is what run applied."""
    files = {f"{name}.yml": text for name, text in CONSTRUCTS.items()}
    project_dir = write_project(tmp_path / "p", {**files, "experiment.yml": SPLIT_SOURCE})
    con = duckdb.connect(str(project_dir / "segwarehouse.duckdb"))
    con.execute("CREATE TABLE main.users AS SELECT i AS user_id, CASE WHEN i % 3 = 0 THEN 'pro' ELSE 'free' END AS plan, "
                "TIMESTAMP '2026-10-01' + i * INTERVAL 1 HOUR AS created_at FROM range(1, 301) t(i)")
    # each person: 10 rows 2.9 days apart, events and skus varying from row to row
    con.execute("CREATE TABLE main.events AS SELECT i % 300 + 1 AS user_id, TIMESTAMP '2026-10-01' + i * INTERVAL 14 MINUTE "
                "AS occurred_at, ['add_to_cart', 'purchase'][(i // 300 + i % 7) % 2 + 1] AS event_name, "
                "json_object('sku', ['x', 'y', 'z'][(i // 300) % 3 + 1]) AS properties FROM range(0, 3000) t(i)")
    con.close()
    as_of = ("--as-of", "2026-11-01")
    for command in (("validate",), ("compile",), ("run", *as_of)):
        result = cli(project_dir, *command)
        assert result.returncode == 0, output(result)
    project = Project(project_dir)
    with duckdb.connect(str(project_dir / "segwarehouse.duckdb"), read_only=True) as con:
        applied = dict(con.execute("SELECT segment, count(*) FROM segwarehouse.segwarehouse.segment_members GROUP BY 1").fetchall())
    for name in CONSTRUCTS:
        assert project.preview(name, as_of="2026-11-01").count == applied.get(name, 0), name
        assert project.breakdown(name, as_of="2026-11-01").count == applied.get(name, 0), name
        assert project.explain(name, "3", as_of="2026-11-01").steps, name
    # diff: against the last run, and (the tree committed, one window edited) against a git revision
    unchanged = project.diff(as_of="2026-11-01")
    assert unchanged.ok and {s.status for s in unchanged.segments} == {"unchanged"}, unchanged.as_dict()
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    for command in (["init", "-q"], ["add", "segments", "segwarehouse.yml"], ["commit", "-qm", "x"]):
        subprocess.run([*git, *command], cwd=project_dir, check=True, capture_output=True)
    (project_dir / "segments" / "nth.yml").write_text(CONSTRUCTS["nth"].replace("within: 7d", "within: 30d"))
    against = Project(project_dir).diff(as_of="2026-11-01", against="HEAD")
    assert not [s.error for s in against.segments if s.error], against.as_dict()
    assert {s.segment for s in against.segments if s.status != "unchanged"} == {"nth"}
    assert {name for name, count in applied.items() if count} >= {"at_least", "sequence", "after", "nth", "distinct",
                                                                  "distinct_days", "experiment"}


def test_explain_describes_every_new_node(tmp_path):
    """`explain` and `docs` read each node as one line; the new nodes have one too."""
    from segwarehouse.explain import describe, nodes
    loaded = load_project(write_project(tmp_path / "p", VALID, TWO_STREAMS))
    texts = [describe(node) for name in ("groups", "windows", "aggregates", "abandoned")
             for _, node in nodes(loaded.segments[name].condition, loaded.segments)]
    assert texts[0] == "at least 2 of" and "during week -1" in texts[1] and "(split variant_a)" in texts[3]
    assert any("after created_at within 7d" in t and "during this quarter" in t for t in texts)
    assert any("nth 3" in t and "most_frequent of properties.category" in t for t in texts)
    assert any(t.startswith("sequence: event 'add_to_cart' then page_view") and "(not performed)" in t for t in texts)
