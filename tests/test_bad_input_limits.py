"""Regression tests for the root causes the fuzzer found (issue 9.4): each bad input is a FILE:LINE
problem (exit 2), never a traceback, a hang or SQL that means something else. tests/test_fuzz.py
searches for new ones; these pin the known ones by name."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlglot

from conftest import write_project
from segwarehouse import Project, ValidationError
from test_validation import assert_problem, show

F = "segments/s.yml"


def problems_of(tmp_path, text, **kwargs):
    project = write_project(tmp_path / "p", {"s.yml": text}, **kwargs)
    with pytest.raises(ValidationError) as info:
        Project(project).validate()
    return info.value.problems


def seg(where: str) -> str:
    return f"name: s\nwhere:\n  {where}\n"


@pytest.mark.parametrize("text,line,fragment", [
    (seg("event: purchase\n  since: 2026-02-30"), 4, "2026-02-30"),
    ("name: s\nowner: !!int ''\nwhere: {attribute: plan, equals: pro}\n", 2, "!!int"),
    ("name: s\ntags: !!set {a, b}\nwhere: {attribute: plan, equals: pro}\n", 2, "!!set"),
    ("name: s\nwhere: {attribute: plan, equals: !!float x}\n", 2, "!!float"),
    ("name: s\nwhere: {attribute: age, gt: " + "9" * 5000 + "}\n", 2, "!!int"),
], ids=["impossible_date", "empty_int_tag", "set_tag", "bad_float_tag", "int_of_5000_digits"])
def test_yaml_values_that_cannot_be_built_are_located(tmp_path, text, line, fragment):
    assert_problem(problems_of(tmp_path, text), F, line, fragment)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\uffff"], ids=["nul", "esc", "del", "uffff"])
def test_control_characters_are_located_by_line_not_byte_position(tmp_path, char):
    problems = problems_of(tmp_path, f"name: s\ndescription: x\nowner: a{char}b\nwhere: {{attribute: plan, equals: pro}}\n")
    assert_problem(problems, F, 3, f"U+{ord(char):04X}")
    assert "position" not in show(problems)


@pytest.mark.parametrize("text,line,fragment", [
    ("name: s\nwhere: " + "{not: " * 30 + "{attribute: age, gt: 1}" + "}" * 30 + "\n", 2, "more than 20 levels"),
    ("name: s\nwhere: " + "{all: [" * 120 + "{attribute: age, gt: 1}" + "]}" * 120 + "\n", 2, "more than"),
    ("name: s\nwhere: " + "{not: " * 160 + "{attribute: age, gt: 1}" + "}" * 160 + "\n", 2, "more than"),
    ("name: s\nwhere: {sql: '" + "(" * 42 + "age > 1" + ")" * 42 + "'}\n", 2, "more than 10 levels"),
    ("name: s\nwhere: {sql: '" + "NOT " * 200 + "age > 1'}\n", 2, "more than 10 levels"),
    ("name: s\nwhere: {attribute: plan, equals: pro}\ntags: " + "[" * 50000 + "]" * 50000 + "\n", 3, "nested"),
    ("name: s\nwhere: {attribute: plan, equals: pro}\ntags:\n" + "".join(" " * i + "- \n" for i in range(1, 1200)),
     1002, "indented"),
], ids=["not_30", "all_120", "not_160", "sql_42_parentheses", "sql_200_not", "yaml_50000_brackets",
        "yaml_1200_indents"])
def test_deep_nesting_has_a_limit_with_a_clear_message(tmp_path, text, line, fragment):
    assert_problem(problems_of(tmp_path, text), F, {line - 1, line, line + 1} if line > 3 else line, fragment)


def test_nesting_at_the_limits_validates_and_compiled_sql_parses_back(tmp_path):
    where = "{not: " * 19 + "{sql: '" + "lower(" * 7 + "email" + ")" * 7 + " = ''x'''}" + "}" * 19
    project = Project(write_project(tmp_path / "p", {"s.yml": f"name: s\nwhere: {where}\n"}))
    for dialect in ("duckdb", "postgres", "snowflake"):
        sql = project.compile(dialect=dialect, as_of="2026-06-01", write=False)[dialect]["s"]
        assert len(sqlglot.parse(sql, read=dialect)) == 1


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "[1, .nan]"])
def test_non_finite_numbers_are_refused_not_compiled_to_identifiers(tmp_path, value):
    op = "in" if value.startswith("[") else "gt"
    assert_problem(problems_of(tmp_path, f"name: s\nwhere: {{attribute: age, {op}: {value}}}\n"), F, 2, "finite")


@pytest.mark.parametrize("sql", ["; IS", "DROP TABLE users", "SET x = 1", "PRAGMA version", "ATTACH 'x.db'",
                                 "plan AS y", "plan IN (SELECT plan FROM main.users)", "count(*) > 1", "age + 1",
                                 "plan = 'pro'; DROP TABLE x", "?"],
                         ids=["empty_statement", "drop", "set", "pragma", "attach", "alias", "subquery",
                              "aggregate", "arithmetic", "two_statements", "placeholder"])
def test_sql_takes_exactly_one_boolean_expression(tmp_path, sql):
    text = "name: s\nwhere:\n  sql: \"" + sql.replace('"', '\\"') + "\"\n"
    assert_problem(problems_of(tmp_path, text), F, 3, "one boolean expression")


@pytest.mark.parametrize("text,line,fragment", [
    (seg("event: purchase\n  since: 0001-01-01"), 4, "1000-01-01"),
    (seg("event: purchase\n  since: 0001-01-01T00:00:00+05:00"), 4, "1000-01-01"),
    (seg("event: purchase\n  until: 9999-12-31T23:00:00-05:00"), 4, "1000-01-01"),
    ("name: s\nwhere: {attribute: created_at, gt: 9999-12-31}\n", 2, "1000-01-01"),
    ("name: s\nwhere: {attribute: email, matches: 'a{99999999999}'}\n", 2, "regular expression"),
    ("name: s\nwhere: {attribute: email, matches: 'a{2000}'}\n", 2, "1000"),
    ("name: s\nwhere: {event: purchase, where: {1: x, a: y}}\n", 2, "names a column"),
    (f"name: {'a' * 252}\nwhere: {{attribute: plan, equals: pro}}\n", 1, "at most 52"),
    ("name: s\nwhere: {event: purchase, where: {'properties.a\"b': 1}}\n", 2, "quote"),
    ("name: s\nwhere: {event: purchase, sum: {of: '', gte: 1}}\n", 2, "sum.of"),
    ("name: s\nwhere: {event: purchase, where: {'': 1}}\n", 2, "names a column"),
    ("name: s\nwhere: {event: purchase, where: {'properties.': 1}}\n", 2, "empty part"),
], ids=["since_year_1", "since_year_1_with_offset", "until_year_9999_with_offset", "compare_year_9999",
        "regex_huge_repeat", "regex_repeat_over_1000", "mixed_key_types_in_where", "name_of_252_characters",
        "json_key_with_quote", "empty_of", "empty_where_key", "json_path_with_empty_key"])
def test_values_beyond_what_engines_hold(tmp_path, text, line, fragment):
    assert_problem(problems_of(tmp_path, text), F, line, fragment)


def test_mixed_key_types_in_splits_do_not_crash_the_definition_hash(tmp_path):
    text = "name: s\nwhere: {attribute: plan, equals: pro}\nsplits: {groups: {1: 50, a: 50}}\n"
    assert "s" in Project(write_project(tmp_path / "p", {"s.yml": text})).validate().segments


def test_billion_laughs_is_refused(tmp_path):
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcde", "bcdef"))
    problems = problems_of(tmp_path, "name: s\nwhere: {attribute: plan, equals: pro}\n" + laughs + "tags: *f\n")
    assert any(p.file == F and p.line and "expands to more than" in p.message for p in problems), show(problems)


def test_recursive_alias_is_refused(tmp_path):
    assert_problem(problems_of(tmp_path, "name: s\nwhere: {attribute: plan, equals: pro}\ntags: &t [*t]\n"),
                   F, 3, "recursive")


def test_file_over_the_size_limit_is_refused(tmp_path):
    text = "name: s\nwhere: {attribute: plan, equals: pro}\n" + "# padding\n" * 110_000
    assert_problem(problems_of(tmp_path, text), F, 1, "at most 1,000,000")


def test_macro_with_a_duplicate_argument_is_located(tmp_path):
    problems = problems_of(tmp_path, "name: s\nwhere: {attribute: plan, equals: pro}\n",
                           macros={"dup.sql": "{# x #}\n{% macro dup(a, a) %}a = 1{% endmacro %}\n"})
    assert_problem(problems, "macros/dup.sql", 2, "duplicate argument 'a'")


def test_newline_in_a_file_name_stays_inside_the_compiled_header_comment(tmp_path):
    project_dir = write_project(tmp_path / "p", {"ok.yml": "name: s\nwhere: {attribute: plan, equals: pro}\n"})
    (project_dir / "segments" / "ok.yml").rename(project_dir / "segments" / "a\nSELECT 1;.yml")
    sql = Project(project_dir).compile(dialect="duckdb", as_of="2026-06-01", write=False)["duckdb"]["s"]
    header = [line for line in sql.splitlines() if line.startswith("--")]
    assert any("a\\nSELECT 1;.yml" in line for line in header)
    assert not any(line.startswith("SELECT 1") for line in sql.splitlines())
    assert len([s for s in sqlglot.parse(sql, read="duckdb") if s is not None]) == 1


def test_file_name_that_is_not_utf8_compiles_and_is_shown_escaped(tmp_path):
    project_dir = write_project(tmp_path / "p", {})
    (project_dir / "segments").mkdir(exist_ok=True)
    (project_dir / "segments" / os.fsdecode(b"\xff.yml")).write_text("name: s\nwhere: {attribute: plan, gt: .nan}\n")
    with pytest.raises(ValidationError) as info:
        Project(project_dir).validate()
    assert str(info.value).encode("utf-8") and "segments/\\xff.yml:2" in str(info.value)
    (project_dir / "segments" / os.fsdecode(b"\xff.yml")).write_text("name: s\nwhere: {attribute: plan, equals: x}\n")
    Project(project_dir).compile(as_of="2026-06-01")  # writes target/compiled/*/s.sql with the header
    assert "\\xff.yml" in (project_dir / "target" / "compiled" / "duckdb" / "s.sql").read_text()


def test_cli_exits_2_with_file_and_line_on_a_control_character(tmp_path):
    project_dir = write_project(tmp_path / "p", {"s.yml": "name: s\nwhere: {attribute: plan, equals: pro}\nowner: \x1b\n"})
    result = subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(project_dir), "validate"],
                            capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in output and "internal error" not in output, output
    assert f"{F}:3:" in output.replace("\n", ""), output


@pytest.mark.parametrize("text,fragment", [
    ("name: s\nwhere: {attribute: age, in: [" + ", ".join(map(str, range(10_001))) + "]}\n", "at most 10,000"),
    ("name: s\nwhere: {attribute: age, gt: 1}\nfields: [" + ", ".join(f"c{i}" for i in range(1001)) + "]\n",
     "at most 1,000"),
], ids=["in_list_of_10001", "fields_1001"])
def test_long_lists_are_refused_before_compiling_them_takes_minutes(tmp_path, text, fragment):
    problems = problems_of(tmp_path, text)
    assert any(p.file == F and p.line in (2, 3) and fragment in p.message for p in problems), show(problems)


@pytest.mark.parametrize("item", ['"]"', "'a]'", '"a\\"]"', "# ]\n"], ids=["double", "single", "escape", "comment"])
def test_brackets_hidden_in_strings_or_comments_do_not_hide_deep_nesting(item):
    """libyaml recurses in C per level (older builds crash the interpreter past ~10,000): the text scan
    that refuses deep brackets must not be fooled by closing brackets that close nothing."""
    from segwarehouse.yamlfile import YamlSyntaxError, load_yaml
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml("a: " + f"[{item}, " * 1500 + "]" * 1500)
    assert "more than 1000 levels" in info.value.message


def test_deep_brackets_inside_jinja_are_located(tmp_path):
    text = "name: s\nwhere: {attribute: plan, equals: pro}\nowner: x\ndescription: {{ a" + "[" * 3000 + " }}\n"
    assert_problem(problems_of(tmp_path, text), F, 4, "nested too deeply")
