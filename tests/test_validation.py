"""Bad input never produces a Python traceback (SPEC sections 2-5, 9-11).

Every problem in every file is reported at once as FILE:LINE: message, with "did you mean" for
misspelled keys, exit code 2, and nothing is written to the target (no DuckDB file, no compiled SQL).

Each case is checked twice: through the Python API (`Project.validate()` raises ValidationError whose
problems carry the exact file and line) and through the CLI in a subprocess (exit code 2, no
"Traceback", FILE:LINE in the output, nothing written).
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import duckdb
import pytest

from conftest import PROJECT_YML, write_project
from segwarehouse import Project, ValidationError

UNSET_ENV = "SEGWAREHOUSE_TEST_SURELY_UNSET_VAR"


# --- helpers -----------------------------------------------------------------------------------------
def clean_env(home: Path, columns: Optional[str] = "1000") -> dict[str, str]:
    """The environment of a CLI subprocess: no stray profiles, a private HOME, and a wide terminal so that
    content checks don't trip over line wrapping (test_cli_prints_each_problem_whole_on_one_line checks
    the default width separately)."""
    env = dict(os.environ)
    for name in ("COLUMNS", "LINES", "SEGWAREHOUSE_PROFILES_DIR", "SEGWAREHOUSE_TARGET_PATH", UNSET_ENV):
        env.pop(name, None)
    env["HOME"] = str(home)
    if columns:
        env["COLUMNS"] = columns
    return env


def cli(project: Path, *args: str, env: Optional[dict] = None, debug: bool = False) -> subprocess.CompletedProcess:
    """segwarehouse --project-dir PROJECT [--debug] ARGS..., captured."""
    cmd = [sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(project), *(["--debug"] if debug else []),
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=project.parent,
                          env=env or clean_env(project.parent))


def cli_many(*calls: tuple) -> list[subprocess.CompletedProcess]:
    """Several `cli(project, *args)` calls at once (each is mostly interpreter start-up)."""
    with ThreadPoolExecutor(max_workers=max(2, 2 * (os.cpu_count() or 1))) as pool:
        return list(pool.map(lambda call: cli(*call), calls))


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
    messages, current = [], None
    for row in text.splitlines():
        if re.match(r"\S+:\d+: ", row):  # a new FILE:LINE: message
            current = None
            if any(row.startswith(f"{file}:{line}: ") for line in lines):
                current = [row]
                messages.append(current)
        elif current is not None:  # a continuation of the message
            current.append(row)
    messages = [flat(" ".join(m)) for m in messages]
    assert messages, f"no {file}:{sorted(lines)}: in the output:\n{text}"
    assert any(all(f.lower() in m.lower() for f in fragments) for m in messages), \
        f"no message at {file}:{sorted(lines)} mentions {fragments}:\n{text}"


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
    problems = api_case_holds(make(tmp_path, case), case)
    if case.id == "jinja_error_inside_macro":
        macro_case_expectation(problems, api=True)


def api_case_holds(project: Path, case: Case) -> list:
    """Validating `project` through the API reports every problem the case expects, each located."""
    problems = validation_problems(project)
    for file, line, *fragments in case.expect:
        assert_problem(problems, file, line, *fragments)
    for p in problems:
        assert p.file and p.line, f"a problem without a file and line: {p}"
        assert str(p).startswith(f"{p.file}:{p.line}: ")
    return problems


def validate_cases(tmp_path_factory, cases: list[Case]) -> dict:
    """`segwarehouse validate` on every case's project, run concurrently once: {case id: (project, result)}."""
    projects = {case.id: make(tmp_path_factory.mktemp(case.id), case) for case in cases}
    results = cli_many(*((projects[case.id], "validate") for case in cases))
    return {case.id: (projects[case.id], result) for case, result in zip(cases, results)}


def cli_case_holds(project: Path, result, case: Case) -> None:
    """`segwarehouse validate` reported every problem the case expects, exit 2, and wrote nothing."""
    for file, line, *fragments in case.expect:
        assert_cli_problem(result, file, line, *fragments)
    assert "Traceback" not in output(result)
    assert result.returncode == 2, output(result)
    assert_nothing_written(project)


@pytest.fixture(scope="module")
def validate_all_cases(tmp_path_factory):
    return validate_cases(tmp_path_factory, CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_validate_reports_without_traceback_and_exits_2(validate_all_cases, case):
    project, result = validate_all_cases[case.id]
    cli_case_holds(project, result, case)
    if case.id == "jinja_error_inside_macro":
        macro_case_expectation(result, api=False)


# --- every problem in every file, at once --------------------------------------------------------
MANY_ERRORS = {
    "alpha.yml": """\
        name: alpha
        wher:
          attribute: plan
          equals: pro
        """,
    "beta.yml": """\
        name: beta
        where:
          all:
            - attribute: plan
              equal: pro
            - event: purchase
              within: 30 days
        """,
    "nested/gamma.yml": """\
        segments:
          - name: gamma_one
            where:
              segment: alpah
          - name: gamma_two
            tags: foo
            where: {attribute: age, gt: abc}
        """,
    "delta.yml": """\
        name: delta
        where:
          attribute: plan
         equals: pro
        """,
    "epsilon.yml": """\
        name: epsilon
        where:
          sql: "{{ no_such_macro() }}"
        """,
}
MANY_EXPECTED = [
    (S + "alpha.yml", 2, "did you mean 'where'"),
    (S + "beta.yml", 5, "did you mean 'equals'"),
    (S + "beta.yml", 7, "30 days"),
    (S + "nested/gamma.yml", 4, "alpah"),
    (S + "nested/gamma.yml", 6, "tags"),
    (S + "nested/gamma.yml", 7, "abc"),
    (S + "delta.yml", 4, "yaml"),
    (S + "epsilon.yml", 3, "no_such_macro"),
    ("macros/broken.sql", 1, "jinja"),
]


def many_errors_project(root: Path) -> Path:
    return write_project(root, MANY_ERRORS, macros={"broken.sql": "{% macro broken( %}x{% endmacro %}\n"})


def test_api_reports_every_problem_of_every_file_at_once(tmp_path):
    problems = validation_problems(many_errors_project(tmp_path / "proj"))
    for file, line, *fragments in MANY_EXPECTED:
        assert_problem(problems, file, line, *fragments)


def test_cli_reports_every_problem_of_every_file_in_one_invocation(tmp_path):
    project = many_errors_project(tmp_path / "proj")
    for result in cli_many((project, "validate"), (project, "run"), (project, "compile")):
        for file, line, *fragments in MANY_EXPECTED:
            assert_cli_problem(result, file, line, *fragments)
    assert_nothing_written(project)


def test_cli_prints_each_problem_whole_on_one_line(tmp_path):
    """FILE:LINE: message, one problem per line, as the API renders it: not wrapped at the terminal width
    (CI annotations and editors parse these lines)."""
    project = many_errors_project(tmp_path / "proj")
    problems = validation_problems(project)
    result = cli(project, "validate", env=clean_env(tmp_path, columns=None))
    printed = output(result).splitlines()
    for problem in problems:
        assert str(problem) in printed, f"{problem} is not printed whole on one line:\n{output(result)}"


def test_json_log_format_reports_problems_as_json(tmp_path):
    project = many_errors_project(tmp_path / "proj")
    result = cli(project, "--log-format", "json", "validate")
    assert result.returncode == 2 and "Traceback" not in output(result), output(result)
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    errors = " ".join(r.get("message", "") for r in records if r.get("level") == "error")
    for file, line, *_ in MANY_EXPECTED:
        assert f"{file}:{line}:" in errors, errors
    assert_nothing_written(project)


# --- more line-exact cases ------------------------------------------------------------------------
def test_non_utf8_segment_file_is_reported_with_its_line(tmp_path):
    project = write_project(tmp_path / "proj", {})
    (project / "segments").mkdir()
    (project / "segments" / "latin1.yml").write_bytes(
        b"name: latin1\ndescription: caf\xe9\nwhere: {attribute: plan, equals: pro}\n")
    problems = validation_problems(project)
    assert_problem(problems, S + "latin1.yml", 2)
    assert_cli_problem(cli(project, "validate"), S + "latin1.yml", 2)


def test_unknown_reference_never_suggests_the_referencing_segment_itself(tmp_path):
    """'active' references 'activ': suggesting 'active' would make it reference itself (a cycle)."""
    project = write_project(tmp_path / "proj", {
        "active.yml": """\
        name: active
        where:
          segment: activ
        """,
        "actives.yml": """\
        name: actives
        where: {attribute: plan, equals: pro}
        """})
    problems = validation_problems(project)
    assert_problem(problems, S + "active.yml", 3, "activ")
    assert not any("did you mean 'active'" in p.message for p in problems), show(problems)


def test_out_of_range_duration_is_a_validation_error_not_an_internal_error(tmp_path):
    project = write_project(tmp_path / "proj", {"forever.yml": """\
        name: forever
        where:
          event: purchase
          within: 99999999999999999999d
        """})
    for result in cli_many((project, "validate"), (project, "compile")):
        assert "internal error" not in output(result), output(result)
        assert_cli_problem(result, S + "forever.yml", 4, "within")
    assert_nothing_written(project)


# --- profiles.yml ---------------------------------------------------------------------------------
GOOD_SEGMENT = {"good.yml": """\
    name: good
    where: {attribute: plan, equals: pro}
    """}


def profiles_project(tmp_path: Path, profiles: str) -> Path:
    return write_project(tmp_path / "proj", GOOD_SEGMENT, files={"profiles.yml": profiles})


PROFILES_OK = """\
    t:
      target: dev
      outputs:
        dev: {type: duckdb, path: segwarehouse.duckdb}
    """


def test_unknown_target_on_the_command_line(tmp_path):
    project = profiles_project(tmp_path, PROFILES_OK)
    profiles = str(project / "profiles.yml")
    for result in cli_many((project, "--target", "nope", "run"), (project, "--target", "nope", "preview", "good")):
        # line 2 (`target:`) or line 3 (`outputs:`, where targets are listed)
        assert_cli_problem(result, profiles, {2, 3}, "nope", "dev")
    assert_nothing_written(project)


def test_unknown_default_target_in_profiles_points_at_its_target_line(tmp_path):
    project = profiles_project(tmp_path, """\
        t:
          target: prod
          outputs:
            dev: {type: duckdb, path: segwarehouse.duckdb}
        """)
    assert_cli_problem(cli(project, "run"), str(project / "profiles.yml"), 2, "prod")
    assert_nothing_written(project)


@pytest.mark.parametrize("settings,fragment", [
    ("{type: duckdb, path: 5}", "path"),
    ("{type: duckdb, path: segwarehouse.duckdb, threads: many}", "threads"),
    ("{type: duckdbb, path: segwarehouse.duckdb}", "type"),
], ids=["path_not_a_string", "threads_not_a_number", "unknown_type"])
def test_bad_target_settings_are_validation_errors(tmp_path, settings, fragment):
    project = profiles_project(tmp_path, f"""\
        t:
          target: dev
          outputs:
            dev: {settings}
        """)
    result = cli(project, "run")
    assert "internal error" not in output(result), output(result)
    assert_cli_problem(result, str(project / "profiles.yml"), 4, fragment)
    assert_nothing_written(project)


def test_missing_profile_and_bad_profiles_yaml(tmp_path):
    missing = write_project(tmp_path / "missing", GOOD_SEGMENT, files={"profiles.yml": """\
        other:
          target: dev
          outputs:
            dev: {type: duckdb, path: segwarehouse.duckdb}
        """})
    bad_yaml = write_project(tmp_path / "bad_yaml", GOOD_SEGMENT, files={"profiles.yml": """\
        t:
          target: dev
          outputs:
            dev: {type: duckdb, path: segwarehouse.duckdb}
           oops: indented
        """})
    r1, r2 = cli_many((missing, "run"), (bad_yaml, "run"))
    assert_cli_problem(r1, str(missing / "profiles.yml"), 1, "'t'")
    assert_cli_problem(r2, str(bad_yaml / "profiles.yml"), 5, "yaml")
    assert_nothing_written(missing)
    assert_nothing_written(bad_yaml)


# --- command-line options -------------------------------------------------------------------------
def assert_usage_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    text = output(result)
    assert "Traceback" not in text, text
    assert result.returncode == 2, f"exit code {result.returncode}:\n{text}"
    for f in fragments:
        assert f.lower() in flat(text).lower(), f"{f!r} not in:\n{text}"


def test_bad_as_of(tmp_path):
    project = write_project(tmp_path / "proj", GOOD_SEGMENT)
    results = cli_many((project, "run", "--as-of", "garbage"), (project, "compile", "--as-of", "garbage"),
                       (project, "run", "--as-of", "2026-13-45"), (project, "preview", "good", "--as-of", "soon"))
    for result, value in zip(results, ["garbage", "garbage", "2026-13-45", "soon"]):
        assert_usage_error(result, "--as-of", value)
    assert_nothing_written(project)


def test_bad_vars(tmp_path):
    project = write_project(tmp_path / "proj", GOOD_SEGMENT)
    results = cli_many((project, "--vars", "{min_order: ", "validate"), (project, "--vars", "[1, 2]", "run"),
                       (project, "--vars", "just text", "compile"))
    for result in results:
        assert_usage_error(result, "--vars")
    assert_nothing_written(project)


def test_unknown_selector(tmp_path):
    project = write_project(tmp_path / "proj", GOOD_SEGMENT)
    results = cli_many((project, "run", "-s", "nosuch"), (project, "compile", "-s", "nosuch"),
                       (project, "ls", "-s", "nosuch"), (project, "run", "-s", "goood"),
                       (project, "run", "--exclude", "nosuch"))
    for result in results[:3] + results[4:]:
        assert_usage_error(result, "nosuch")
    assert_usage_error(results[3], "goood", "did you mean 'good'")
    assert_nothing_written(project)


def test_unknown_dialect_and_segment(tmp_path):
    project = write_project(tmp_path / "proj", GOOD_SEGMENT)
    r1, r2 = cli_many((project, "compile", "--dialect", "nosuch"), (project, "preview", "nosuch"))
    assert_usage_error(r1, "nosuch")
    assert_usage_error(r2, "nosuch")
    assert_nothing_written(project)


def test_missing_project_file(tmp_path):
    (tmp_path / "empty").mkdir()
    for result in cli_many((tmp_path / "empty", "validate"), (tmp_path / "empty", "run")):
        assert_usage_error(result, "segwarehouse.yml")
    assert not (tmp_path / "empty" / "segwarehouse.duckdb").exists()


# --- --debug is the only way to see a traceback ---------------------------------------------------
CRASH = """\
import sys
import segwarehouse.api as api


def crash(self):
    raise RuntimeError("simulated engine crash")


api.Project.validate = crash
from segwarehouse.cli import main

sys.argv = ["segwarehouse", *sys.argv[1:]]
main()
"""


def test_debug_is_the_only_way_to_see_a_traceback(tmp_path):
    project = write_project(tmp_path / "proj", GOOD_SEGMENT)
    script = tmp_path / "crash.py"
    script.write_text(CRASH)
    env = clean_env(tmp_path)

    def run(*args):
        return subprocess.run([sys.executable, str(script), "--project-dir", str(project), *args],
                              capture_output=True, text=True, timeout=120, env=env)

    plain, debug = run("validate"), run("--debug", "validate")
    assert "Traceback" not in output(plain), output(plain)
    assert "simulated engine crash" in output(plain) and "--debug" in output(plain)
    assert plain.returncode != 0
    assert "Traceback" in debug.stderr and "simulated engine crash" in debug.stderr
    assert debug.returncode != 0

    # bad input: no traceback without --debug (with --debug a traceback is allowed, not required)
    bad = many_errors_project(tmp_path / "bad")
    result = cli(bad, "validate")
    assert "Traceback" not in output(result) and result.returncode == 2


# --- nothing is written to the target -------------------------------------------------------------
BAD_PROJECTS = {
    "bad_yaml": ({"a.yml": "name: a\nwhere:\n  attribute: plan\n equals: pro\n"}, PROJECT_YML),
    "unknown_reference": ({"a.yml": "name: a\nwhere: {segment: nowhere}\n"}, PROJECT_YML),
    "wrong_types": ({"a.yml": "name: a\nwhere: {attribute: plan, in: 5}\n"}, PROJECT_YML),
    "bad_project_file": (GOOD_SEGMENT, "name: t\npeople: {table: main.users}\n"),
    "unset_env_var": ({"a.yml": f"name: a\nwhere: {{attribute: plan, equals: \"{{{{ env_var('{UNSET_ENV}') }}}}\"}}\n"},
                      PROJECT_YML),
}


@pytest.mark.parametrize("name", list(BAD_PROJECTS))
def test_failed_commands_on_a_fresh_project_write_nothing(tmp_path, name):
    segments, project_yml = BAD_PROJECTS[name]
    project = write_project(tmp_path / "proj", segments, project_yml=project_yml)
    for result in cli_many((project, "validate"), (project, "run"), (project, "compile"),
                           (project, "run", "--as-of", "2026-01-01")):
        assert "Traceback" not in output(result), output(result)
        assert result.returncode == 2, output(result)
    assert_nothing_written(project)


PEOPLE = [(1, "a@example.com", "pro", 30), (2, "b@example.com", "free", 40), (3, "c@example.com", "pro", 50)]


def seed_warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE main.users (user_id INTEGER, email VARCHAR, plan VARCHAR, age INTEGER)")
    con.executemany("INSERT INTO main.users VALUES (?, ?, ?, ?)", PEOPLE)
    con.execute("CREATE TABLE main.events (user_id INTEGER, occurred_at TIMESTAMP, event_name VARCHAR, "
                "properties JSON)")
    con.execute("INSERT INTO main.events VALUES (1, TIMESTAMP '2025-12-20 10:00:00', 'purchase', '{}')")
    con.close()


def warehouse_state(path: Path) -> dict:
    """Every table of the DuckDB file (output schema included) with its sorted rows."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{path}' AS snap (READ_ONLY)")
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                             "WHERE table_catalog = 'snap' ORDER BY 1, 2").fetchall()
        return {f"{s}.{t}": sorted(map(repr, con.execute(f'SELECT * FROM snap."{s}"."{t}"').fetchall()))
                for s, t in tables}
    finally:
        con.close()


def compiled_state(project: Path) -> dict[str, tuple]:
    compiled = project / "target" / "compiled"
    return {str(p.relative_to(compiled)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(compiled.rglob("*")) if p.is_file()}


def test_failed_commands_leave_an_existing_target_unchanged(tmp_path):
    project = write_project(tmp_path / "proj", {
        "pros.yml": """\
        name: pros
        where: {attribute: plan, equals: pro}
        """,
        "buyers.yml": """\
        name: buyers
        where:
          event: purchase
          within: 30d
        """}, files={"profiles.yml": PROFILES_OK})
    db = project / "segwarehouse.duckdb"
    seed_warehouse(db)
    good_run, good_compile = cli(project, "run", "--as-of", "2026-01-01"), cli(project, "compile",
                                                                               "--as-of", "2026-01-01")
    assert good_run.returncode == 0, output(good_run)
    assert good_compile.returncode == 0, output(good_compile)
    before_db, before_compiled = warehouse_state(db), compiled_state(project)
    assert before_db["segwarehouse.segment_members"], "the good run selected nobody"
    assert set(before_compiled) == {"duckdb/pros.sql", "duckdb/buyers.sql", "snowflake/pros.sql",
                                    "snowflake/buyers.sql"}

    # bad options on the good project
    option_failures = cli_many(
        (project, "run", "--as-of", "garbage"), (project, "run", "-s", "nosuch"),
        (project, "--target", "nope", "run"), (project, "--vars", "[1]", "run"),
        (project, "compile", "--as-of", "garbage"), (project, "compile", "-s", "nosuch"),
        (project, "compile", "--dialect", "nosuch"))
    # then a bad segment beside the good ones, and a bad edit of a good one
    (project / "segments" / "broken.yml").write_text("name: broken\nwhere: {attribute: plan, equal: pro}\n")
    (project / "segments" / "buyers.yml").write_text("name: buyers\nwhere:\n  event: purchase\n  within: 30 days\n")
    input_failures = cli_many((project, "run", "--as-of", "2026-01-02"), (project, "compile", "--as-of", "2026-01-02"),
                              (project, "validate"))
    for result in option_failures + input_failures:
        assert "Traceback" not in output(result), output(result)
        assert result.returncode == 2, output(result)
    for result in input_failures:
        assert_cli_problem(result, S + "broken.yml", 2, "did you mean 'equals'")
        assert_cli_problem(result, S + "buyers.yml", 4, "30 days")

    assert warehouse_state(db) == before_db, "a failed command changed the warehouse"
    assert compiled_state(project) == before_compiled, "a failed command changed target/compiled"


def test_run_without_the_people_table_fails_with_a_clear_message(tmp_path):
    project = write_project(tmp_path / "proj", GOOD_SEGMENT)
    duckdb.connect(str(project / "segwarehouse.duckdb")).close()  # a database, without the people table
    result = cli(project, "run", "--as-of", "2026-01-01")
    text = output(result)
    assert "Traceback" not in text and "internal error" not in text, text
    assert result.returncode in (1, 2), text
    assert "main.users" in text and "people" in flat(text).lower(), text
    db = project / "segwarehouse.duckdb"
    if db.exists():
        state = warehouse_state(db)
        assert not any(t.startswith("segwarehouse.") for t in state), f"output tables were created: {list(state)}"
