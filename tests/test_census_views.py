"""`audience_views:` the views Census's Warehouse-Managed Audiences reads, `audiences (id, name,
description)` and `audience_memberships (person_id, audience_id)`, beside the people table, replaced
by every run, on DuckDB, PostgreSQL (a real server) and Snowflake (fakesnow)."""
from __future__ import annotations

import contextlib

import duckdb
import pytest

from segwarehouse import Project
from segwarehouse.errors import ValidationError

from conftest import write_project
from helpers.warehouses import as_rows
from test_run_invariants import DB, OUT, T0, _isolated_profiles, create_small_tables  # noqa: F401 - autouse
from test_warehouse_runs import PROJECT_YML, _real_snowflake_connector, warehouse  # noqa: F401 - fixtures

pytestmark = pytest.mark.filterwarnings("ignore:::fakesnow.*")

SEGMENTS = {
    "pro_users.yml": "name: pro_users\ndescription: On the pro plan\nwhere: {attribute: plan, equals: pro}\n",
    "buyers.yml": "name: buyers\nwhere: {event: purchase, within: 30d}\n",
    "paused.yml": "name: paused\nenabled: false\nwhere: {attribute: plan, equals: free}\n",
}


def project_on(tmp_path, warehouse, opt_in: str = "audience_views: true\n"):
    root = write_project(tmp_path / "proj", SEGMENTS, project_yml=PROJECT_YML + opt_in)
    ref = tmp_path / "ref"
    ref.mkdir()
    create_small_tables(ref)
    with contextlib.closing(duckdb.connect(str(ref / DB))) as con:
        for table in ("users", "events"):
            warehouse.load(table, as_rows(con.execute(f"SELECT * FROM main.{table}").fetchall()))
    warehouse.write_profiles(root)
    return root


def audiences(wh) -> set:
    with wh.connect() as con:
        return set(con.execute("SELECT id, name, description FROM shop.audiences").fetchall())


def memberships(wh) -> set:
    with wh.connect() as con:
        return set(con.execute("SELECT person_id, audience_id FROM shop.audience_memberships").fetchall())


def stored_members(wh, segments: tuple[str, ...]) -> set:
    with wh.connect() as con:
        rows = con.execute(f"SELECT person_id, segment FROM {OUT}.segment_members").fetchall()
    return {(p, s) for p, s in rows if s in segments}


def test_views_list_the_enabled_segments_and_their_members_and_follow_the_project(tmp_path, warehouse):
    root = project_on(tmp_path, warehouse)
    assert Project(root).run(as_of=T0).ok
    assert audiences(warehouse) == {("pro_users", "pro_users", "On the pro plan"), ("buyers", "buyers", None)}
    got = memberships(warehouse)
    with warehouse.connect() as con:  # straight from the people table, not from our output
        pro = {r[0] for r in con.execute("SELECT user_id FROM shop.users WHERE plan = 'pro'").fetchall()}
    assert pro and {p for p, a in got if a == "pro_users"} == pro
    assert {a for _, a in got} == {"pro_users", "buyers"}  # `paused` is disabled: not an audience
    assert got == stored_members(warehouse, ("pro_users", "buyers"))

    (root / "segments" / "buyers.yml").unlink()  # a segment removed, another added
    (root / "segments" / "free_users.yml").write_text("name: free_users\nwhere: {attribute: plan, equals: free}\n")
    assert Project(root).run(as_of=T0.replace(day=2)).ok
    assert audiences(warehouse) == {("pro_users", "pro_users", "On the pro plan"), ("free_users", "free_users", None)}
    got = memberships(warehouse)
    with warehouse.connect() as con:
        free = {r[0] for r in con.execute("SELECT user_id FROM shop.users WHERE plan = 'free'").fetchall()}
    assert free and {p for p, a in got if a == "free_users"} == free
    assert "buyers" not in {a for _, a in got}  # its rows stay in segment_members, but it is no audience
    assert got == stored_members(warehouse, ("pro_users", "free_users"))


def test_no_views_without_opting_in(tmp_path, warehouse):
    root = project_on(tmp_path, warehouse, opt_in="")
    assert Project(root).run(as_of=T0).ok
    for view in ("audiences", "audience_memberships"):
        with warehouse.connect() as con, pytest.raises(Exception):
            con.execute(f"SELECT * FROM shop.{view}")


def test_views_in_a_schema_of_their_own(tmp_path):
    root = write_project(tmp_path / "proj", SEGMENTS, project_yml=PROJECT_YML.replace("shop.", "main.")
                         + "audience_views: {schema: census}\n")
    create_small_tables(root)
    assert Project(root).run(as_of=T0).ok
    with contextlib.closing(duckdb.connect()) as con:
        # attached under a name other than the output schema's (README: a DuckDB file named like it is ambiguous)
        con.execute(f"ATTACH '{root / DB}' AS wh (READ_ONLY)")
        con.execute("USE wh")
        assert {r[0] for r in con.execute("SELECT id FROM census.audiences").fetchall()} == {"pro_users", "buyers"}
        assert con.execute("SELECT count(*) FROM census.audience_memberships").fetchone()[0] == \
            con.execute(f"SELECT count(*) FROM {OUT}.segment_members WHERE segment <> 'paused'").fetchone()[0] > 0


@pytest.mark.parametrize("setting, message", [
    ("audience_views: yes please", "`audience_views` is true, false or {schema: [database.]schema}"),
    ("audience_views: {schema: 'no spaces'}", "`audience_views.schema` is a schema name"),
    ("audience_views: {shcema: census}", "unknown key 'shcema' in `audience_views` (did you mean 'schema'?)"),
])
def test_a_bad_setting_is_reported_at_its_line(tmp_path, setting, message):
    root = write_project(tmp_path / "proj", SEGMENTS, project_yml=PROJECT_YML + setting + "\n")
    with pytest.raises(ValidationError) as caught:
        Project(root).validate()
    line = PROJECT_YML.count("\n") + 1
    assert [(p.file, p.line) for p in caught.value.problems] == [("segwarehouse.yml", line)], caught.value.problems
    assert message in str(caught.value)
