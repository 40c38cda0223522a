"""The PostgreSQL server fixture itself: a real server, in UTC, that we can write to."""

import psycopg


def test_server_answers_in_utc(postgres_dsn):
    with psycopg.connect(postgres_dsn) as con:
        con.execute("CREATE TEMP TABLE t (x int)")
        con.execute("INSERT INTO t VALUES (1), (2)")
        assert con.execute("SELECT sum(x), current_setting('TimeZone') FROM t").fetchone() == (3, "UTC")
