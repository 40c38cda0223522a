"""Bad input never produces a Python traceback (SPEC sections 2-5, 9-11).

Every problem in every file is reported at once as FILE:LINE: message, with "did you mean" for
misspelled keys, exit code 2, and nothing is written to the target (no DuckDB file, no compiled SQL).

Each case is checked twice: through the Python API (`Project.validate()` raises ValidationError whose
problems carry the exact file and line) and through the CLI in a subprocess (exit code 2, no
"Traceback", FILE:LINE in the output, nothing written).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Optional

import duckdb
import pytest

from conftest import PROJECT_YML, write_project
from segwarehouse import Project, ValidationError

UNSET_ENV = "SEGWAREHOUSE_TEST_SURELY_UNSET_VAR"


# --- helpers -----------------------------------------------------------------------------------------
def clean_env(home: Path) -> dict[str, str]:
    """The environment of a CLI subprocess: no terminal width, no stray profiles, a private HOME."""
    env = dict(os.environ)
    for name in ("COLUMNS", "LINES", "SEGWAREHOUSE_PROFILES_DIR", "SEGWAREHOUSE_TARGET_PATH", UNSET_ENV):
        env.pop(name, None)
    env["HOME"] = str(home)
    return env


def cli(project: Path, *args: str, env: Optional[dict] = None, debug: bool = False) -> subprocess.CompletedProcess:
    """segwarehouse --project-dir PROJECT [--debug] ARGS..., captured."""
    cmd = [sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(project), *(["--debug"] if debug else []),
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=project.parent,
                          env=env or clean_env(project.parent))


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def flat(text: str) -> str:
    """Whitespace-normalised text, so a message wrapped by the console still matches."""
    return " ".join(text.split())


def show(problems) -> str:
    return "\n".join(str(p) for p in problems)


def validation_problems(project_dir: Path, **kwargs):
    with pytest.raises(ValidationError) as info:
        Project(project_dir, **kwargs).validate()
    problems = info.value.problems
    assert problems, "ValidationError without problems"
    return problems


def assert_problem(problems, file: str, lines, *fragments: str) -> None:
    """Some problem is at FILE:LINE (LINE: an int or a set of acceptable ints) and mentions each fragment."""
    lines = {lines} if isinstance(lines, int) else set(lines)
    found = [p for p in problems if p.file == file and p.line in lines
             and all(f.lower() in p.message.lower() for f in fragments)]
    assert found, f"expected a problem at {file}:{sorted(lines)} mentioning {fragments}; got:\n{show(problems)}"


def assert_cli_problem(result: subprocess.CompletedProcess, file: str, lines, *fragments: str) -> None:
    """Exit 2, no traceback, and a FILE:LINE: message (LINE: an int or a set) mentioning each fragment."""
    text = output(result)
    assert "Traceback" not in text, text
    assert result.returncode == 2, f"exit code {result.returncode}, expected 2:\n{text}"
    lines = {lines} if isinstance(lines, int) else set(lines)
    messages = []
    normalised = flat(text)
    for line in lines:
        location = f"{file}:{line}:"
        start = normalised.find(location)
        while start >= 0:
            rest = normalised[start + len(location):]
            nxt = re.search(r"\S+:\d+: ", rest)
            messages.append(rest[:nxt.start()] if nxt else rest)
            start = normalised.find(location, start + 1)
    assert messages, f"no {file}:{sorted(lines)}: in the output:\n{text}"
    assert any(all(f.lower() in m.lower() for f in fragments) for m in messages), \
        f"no message at {file}:{sorted(lines)} mentions {fragments}:\n{text}"


def snapshot_target(project: Path) -> dict[str, str]:
    """Every file under target/ except run_results.json (which every command writes), by content hash."""
    target = project / "target"
    if not target.exists():
        return {}
    return {str(p.relative_to(target)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(target.rglob("*")) if p.is_file() and p.name != "run_results.json"}


def assert_nothing_written(project: Path) -> None:
    assert not (project / "segwarehouse.duckdb").exists(), "a failed command created segwarehouse.duckdb"
    assert not (project / "target" / "compiled").exists(), "a failed command wrote target/compiled"


# --- the cases: one bad input each, with the exact FILE:LINE expected ------------------------------
@dataclasses.dataclass
class Case:
    id: str
    segments: dict
    expect: list  # (file, line or set of lines, *fragments)
    project_yml: str = PROJECT_YML
    macros: Optional[dict] = None
    files: Optional[dict] = None


S = "segments/"

CASES = [
    # --- YAML ---------------------------------------------------------------------------------------
    Case("yaml_bad_indentation", {"bad_indent.yml": """\
        name: bad_indent
        where:
          attribute: plan
         equals: pro
        """}, [(S + "bad_indent.yml", 4, "yaml")]),
    # The bracket opened on line 3 is never closed: line 3 is where the user must look.
    Case("yaml_unclosed_bracket", {"unclosed.yml": """\
        name: unclosed
        description: tags never closed
        tags: [engagement, email
        where:
          attribute: plan
          equals: pro
        """}, [(S + "unclosed.yml", 3, "yaml")]),
    Case("yaml_duplicate_key", {"dup_key.yml": """\
        name: dup_key
        where: {attribute: plan, equals: pro}
        name: dup_key_again
        """}, [(S + "dup_key.yml", 3, "duplicate", "name")]),
    # --- Jinja ---------------------------------------------------------------------------------------
    Case("jinja_syntax_error", {"jinja_syntax.yml": """\
        name: jinja_syntax
        description: x
        tags: [{{ 'a' | }}]
        where:
          attribute: plan
          equals: pro
        """}, [(S + "jinja_syntax.yml", 3, "jinja")]),
    Case("jinja_undefined_macro", {"undefined_macro.yml": """\
        name: undefined_macro
        description: calls a macro nobody defined
        where:
          sql: "{{ is_pro_user() }}"
        """}, [(S + "undefined_macro.yml", 4, "is_pro_user")]),
    Case("jinja_undefined_variable", {"undefined_variable.yml": """\
        name: undefined_variable
        where:
          attribute: plan
          equals: "{{ plan_name }}"
        """}, [(S + "undefined_variable.yml", 4, "plan_name")]),
    Case("jinja_var_not_defined", {"missing_var.yml": """\
        name: missing_var

        where:
          attribute: plan
          equals: "{{ var('min_orderz') }}"
        """}, [(S + "missing_var.yml", 5, "min_orderz")]),
    Case("env_var_unset_without_default", {"env.yml": f"""\
        name: env_segment
        where:
          attribute: plan
          equals: "{{{{ env_var('{UNSET_ENV}') }}}}"
        """}, [(S + "env.yml", 4, UNSET_ENV)]),
    # A macro's body fails when called from line 6 of the segment: the problem is either at the call
    # (segments/call_macro.yml:6) or inside the macro (macros/plans.sql:2) -- never at line 2 of the
    # segment file, which is an unrelated line.
    Case("jinja_error_inside_macro", {"call_macro.yml": """\
        name: call_macro
        description: x
        tags: [t]
        owner: me
        where:
          sql: "{{ plan_is() }}"
        """}, [], macros={"plans.sql": """\
        {% macro plan_is() %}
        plan = '{{ var("wanted_plan") }}'
        {% endmacro %}
        """}),
    Case("macro_file_syntax_error", {"ok_segment.yml": """\
        name: ok_segment
        where: {attribute: plan, equals: pro}
        """}, [("macros/broken.sql", 3, "jinja")], macros={"broken.sql": """\
        {% macro fine() %}plan = 'pro'{% endmacro %}

        {% macro broken( %}x{% endmacro %}
        """}),
    # --- segment keys --------------------------------------------------------------------------------
    Case("unknown_segment_key_did_you_mean", {"typo.yml": """\
        name: typo
        wher:
          attribute: plan
          equals: pro
        """}, [(S + "typo.yml", 2, "wher", "did you mean 'where'")]),
    Case("unknown_operator_did_you_mean", {"op_typo.yml": """\
        name: op_typo
        where:
          attribute: plan
          equal: pro
        """}, [(S + "op_typo.yml", 4, "equal", "did you mean 'equals'")]),
    Case("unknown_condition_key_did_you_mean", {"cond_typo.yml": """\
        name: cond_typo
        where:
          any:
            - attribute: plan
              equals: pro
            - atribute: country
              equals: DE
        """}, [(S + "cond_typo.yml", 6, "atribute", "did you mean 'attribute'")]),
    Case("unknown_stream_key_did_you_mean", {"stream_typo.yml": """\
        name: stream_typo
        where:
          event: purchase
          withn: 30d
        """}, [(S + "stream_typo.yml", 4, "withn", "did you mean 'within'")]),
    Case("wrong_types", {"types.yml": """\
        name: types
        tags: foo
        enabled: maybe
        where:
          all:
            - attribute: plan
              in: 5
            - attribute: age
              gt: abc
            - event: purchase
              count: 3
        """}, [(S + "types.yml", 2, "tags"), (S + "types.yml", 3, "enabled"), (S + "types.yml", 7, "in"),
               (S + "types.yml", 9, "gt", "abc"), (S + "types.yml", 11, "count")]),
    Case("both_where_and_static", {"both.yml": """\
        name: both
        where: {attribute: plan, equals: pro}
        static: {csv: data/vip.csv, column: email}
        """}, [(S + "both.yml", 1, "where", "static")], files={"data/vip.csv": "email\na@example.com\n"}),
    Case("neither_where_nor_static", {"neither.yml": """\
        name: neither
        description: forgot the condition
        """}, [(S + "neither.yml", 1, "where", "static")]),
    Case("bad_durations", {"durations.yml": """\
        name: durations
        where:
          all:
            - attribute: created_at
              within: 30 days
            - event: login
              within: 5y
            - event: purchase
              older_than: 3 months
        """}, [(S + "durations.yml", 5, "30 days"), (S + "durations.yml", 7, "5y"),
               (S + "durations.yml", 9, "3 months")]),
    Case("bad_regex", {"regex.yml": """\
        name: regex
        where:
          attribute: email
          matches: "(unclosed"
        """}, [(S + "regex.yml", 4, "(unclosed")]),
    Case("invalid_sql", {"bad_sql.yml": """\
        name: bad_sql
        description: not SQL at all
        where:
          sql: "SELECT FROM WHERE"
        """}, [(S + "bad_sql.yml", 4, "sql")]),
    Case("sql_statement_instead_of_expression", {"stmt_sql.yml": """\
        name: stmt_sql
        where:
          sql: "DELETE FROM users"
        """}, [(S + "stmt_sql.yml", 3, "statement")]),
    Case("sql_expression_followed_by_a_statement", {"two_sql.yml": """\
        name: two_sql
        where:
          any:
            - attribute: plan
              equals: pro
            - sql: "plan = 'pro'; DROP TABLE users"
        """}, [(S + "two_sql.yml", 6, "sql")]),
    # --- references ----------------------------------------------------------------------------------
    Case("unknown_reference_did_you_mean", {
        "big_spenders.yml": """\
        name: big_spenders
        where: {attribute: plan, equals: pro}
        """,
        "winback.yml": """\
        name: winback
        where:
          all:
            - attribute: plan
              equals: free
            - segment: big_spender
        """}, [(S + "winback.yml", 6, "big_spender", "did you mean 'big_spenders'")]),
    # a.yml's seg_a is on line 2 and references seg_b on line 4; b.yml's seg_b is on line 1 and
    # references seg_a on line 5. The cycle may be reported at any of those lines.
    Case("reference_cycle_across_files", {
        "a.yml": """\
        # first half of the cycle
        name: seg_a
        where:
          segment: seg_b
        """,
        "b.yml": """\
        name: seg_b
        description: second half
        where:
          any:
            - segment: seg_a
        """}, [(S + "a.yml", {2, 4}, "cycle", "seg_a", "seg_b")]),
    Case("reference_to_disabled_segment", {
        "uses_disabled.yml": """\
        name: uses_disabled
        where:
          not:
            segment: retired
        """,
        "retired.yml": """\
        name: retired
        enabled: false
        where: {attribute: plan, equals: legacy}
        """}, [(S + "uses_disabled.yml", 4, "retired", "disabled")]),
    # --- names -----------------------------------------------------------------------------------------
    # The duplicate is the `name:` on line 2 of the second file (line 1 there is the description).
    Case("duplicate_names_in_two_files", {
        "first.yml": """\
        name: loyal
        where: {attribute: plan, equals: pro}
        """,
        "second.yml": """\
        description: defined again by mistake
        name: loyal
        where: {attribute: plan, equals: team}
        """}, [(S + "second.yml", 2, "loyal", "segments/first.yml")]),
    Case("bad_names", {"names.yml": """\
        segments:
          - name: Bad-Name
            where: {attribute: plan, equals: x}
          - name: segment_members
            where: {attribute: plan, equals: x}
          - name: 1abc
            where: {attribute: plan, equals: x}
          - description: no name at all
            where: {attribute: plan, equals: x}
        """}, [(S + "names.yml", 2, "Bad-Name"), (S + "names.yml", 4, "segment_"),
               (S + "names.yml", 6, "1abc"), (S + "names.yml", 8, "name")]),
    # --- splits, static ----------------------------------------------------------------------------------
    Case("splits_not_summing_to_100", {"split.yml": """\
        name: split
        where: {attribute: plan, equals: pro}
        splits:
          salt: winter
          groups: {control: 10, variant: 80}
        """}, [(S + "split.yml", 5, "100", "90")]),
    # The missing path is on line 4; line 1 (`name:`) is not where the mistake is.
    Case("static_csv_missing", {"vip.yml": """\
        name: vip
        description: imported list
        static:
          csv: data/missing.csv
          column: email
          match_on: email
        """}, [(S + "vip.yml", 4, "data/missing.csv")]),
    Case("static_match_on_not_a_name", {"vip_list.yml": """\
        name: vip_list
        static:
          csv: data/vip.csv
          column: email
          match_on: [email]
        """}, [(S + "vip_list.yml", 5, "match_on")], files={"data/vip.csv": "email\na@example.com\n"}),
    Case("stream_not_declared", {"winter.yml": """\
        name: winter
        where:
          all:
            - attribute: plan
              equals: pro
            - page_view: "*/winter/*"
              within: 7d
        """}, [(S + "winter.yml", 6, "page_view")]),
    # --- the project file ----------------------------------------------------------------------------------
    Case("project_missing_people", {}, [("segwarehouse.yml", 1, "people")], project_yml="""\
        name: t
        streams:
          event: {table: main.events, key: user_id, timestamp: occurred_at}
        """),
    Case("project_unknown_key_did_you_mean", {}, [("segwarehouse.yml", 5, "stream", "did you mean 'streams'")],
         project_yml="""\
        name: t
        people:
          table: main.users
          key: user_id
        stream:
          event: {table: main.events, key: user_id, timestamp: occurred_at}
        """),
    Case("project_people_key_did_you_mean", {}, [("segwarehouse.yml", 5, "identifers", "did you mean 'identifiers'")],
         project_yml="""\
        name: t
        people:
          table: main.users
          key: user_id
          identifers: {email: email}
        """),
    Case("project_stream_named_like_reserved_key", {}, [("segwarehouse.yml", 7, "all"),
                                                        ("segwarehouse.yml", 8, "within")], project_yml="""\
        name: t
        people:
          table: main.users
          key: user_id
        streams:
          event: {table: main.events, key: user_id, timestamp: occurred_at}
          all: {table: main.everything, key: user_id, timestamp: ts}
          within: {table: main.windows, key: user_id, timestamp: ts}
        """),
    Case("project_bad_yaml", {}, [("segwarehouse.yml", 4, "yaml")], project_yml="""\
        name: t
        people:
          table: main.users
         key: user_id
        """),
    Case("project_env_var_unset", {}, [("segwarehouse.yml", 3, UNSET_ENV)], project_yml=f"""\
        name: t
        people:
          table: "{{{{ env_var('{UNSET_ENV}') }}}}"
          key: user_id
        """),
]


def make(tmp_path: Path, case: Case) -> Path:
    return write_project(tmp_path / "proj", case.segments, project_yml=case.project_yml, macros=case.macros,
                         files=case.files)


def macro_case_expectation(problems_or_result, api: bool) -> None:
    """jinja_error_inside_macro: the call site (segments/call_macro.yml:6) or the macro (macros/plans.sql:2)."""
    options = [(S + "call_macro.yml", 6, "wanted_plan"), ("macros/plans.sql", 2, "wanted_plan")]
    errors = []
    for file, line, fragment in options:
        try:
            (assert_problem if api else assert_cli_problem)(problems_or_result, file, line, fragment)
            return
        except AssertionError as e:
            errors.append(str(e))
    raise AssertionError("\n".join(errors))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_api_reports_the_exact_file_and_line(tmp_path, monkeypatch, case):
    monkeypatch.delenv(UNSET_ENV, raising=False)
    problems = validation_problems(make(tmp_path, case))
    for file, line, *fragments in case.expect:
        assert_problem(problems, file, line, *fragments)
    if case.id == "jinja_error_inside_macro":
        macro_case_expectation(problems, api=True)
    for p in problems:
        assert p.file and p.line, f"a problem without a file and line: {p}"
        assert str(p).startswith(f"{p.file}:{p.line}: ")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_validate_reports_without_traceback_and_exits_2(tmp_path, case):
    project = make(tmp_path, case)
    result = cli(project, "validate")
    for file, line, *fragments in case.expect:
        assert_cli_problem(result, file, line, *fragments)
    if case.id == "jinja_error_inside_macro":
        macro_case_expectation(result, api=False)
    assert "Traceback" not in output(result)
    assert result.returncode == 2, output(result)
    assert_nothing_written(project)
