"""Tests of the demo data generator (segwarehouse.demo)."""

import datetime

import duckdb
import pytest

from segwarehouse.demo import TABLES, generate_demo

ANCHOR = datetime.datetime(2026, 11, 22)
PEOPLE = 2000

TIMESTAMP_COLUMNS = {
    "users": "signup_at",
    "events": "occurred_at",
    "page_views": "viewed_at",
    "message_activity": "occurred_at",
    "devices": "last_seen_at",
}

COLUMNS = {
    "users": [
        ("user_id", "BIGINT"), ("email", "VARCHAR"), ("phone", "VARCHAR"), ("first_name", "VARCHAR"),
        ("last_name", "VARCHAR"), ("plan", "VARCHAR"), ("country", "VARCHAR"), ("city", "VARCHAR"),
        ("signup_at", "TIMESTAMP"), ("trial_ends_at", "TIMESTAMP"), ("last_login_at", "TIMESTAMP"),
        ("lifetime_value", "DOUBLE"), ("marketing_opt_in", "BOOLEAN"), ("language", "VARCHAR"),
    ],
    "events": [
        ("user_id", "BIGINT"), ("occurred_at", "TIMESTAMP"), ("event_name", "VARCHAR"),
        ("channel", "VARCHAR"), ("properties", "JSON"),
    ],
    "page_views": [("user_id", "BIGINT"), ("viewed_at", "TIMESTAMP"), ("url", "VARCHAR")],
    "message_activity": [
        ("user_id", "BIGINT"), ("occurred_at", "TIMESTAMP"), ("activity", "VARCHAR"), ("properties", "JSON"),
    ],
    "devices": [
        ("user_id", "BIGINT"), ("last_seen_at", "TIMESTAMP"), ("platform", "VARCHAR"), ("app_version", "VARCHAR"),
    ],
}


def _rows(con, sql, **params):
    return con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()


def _one(con, sql, **params):
    return _rows(con, sql, **params)[0][0]


def _checksums(con, schema="main"):
    """Row count and md5 of every table's rows in physical (rowid) order."""
    out = {}
    for table in TABLES:
        out[table] = _rows(
            con,
            f'SELECT count(*), md5(coalesce(string_agg(t::VARCHAR, chr(10) ORDER BY t.rowid), \'\')) '
            f'FROM "{schema}"."{table}" AS t',
        )[0]
    return out


@pytest.fixture(scope="module")
def demo():
    con = duckdb.connect()
    counts = generate_demo(con, people=PEOPLE, seed=7, anchor=ANCHOR)
    yield con, counts
    con.close()


def test_row_counts(demo):
    con, counts = demo
    assert list(counts) == list(TABLES)
    for table, n in counts.items():
        assert _one(con, f"SELECT count(*) FROM {table}") == n
    assert counts["users"] == PEOPLE
    assert 35 * PEOPLE <= counts["events"] <= 65 * PEOPLE
    assert 7 * PEOPLE <= counts["page_views"] <= 15 * PEOPLE
    assert 10 * PEOPLE <= counts["message_activity"] <= 60 * PEOPLE
    assert PEOPLE <= counts["devices"] <= 2 * PEOPLE


def test_columns_and_types(demo):
    con, _ = demo
    for table, expected in COLUMNS.items():
        got = [(r[0], r[1]) for r in _rows(con, f"DESCRIBE {table}")]
        assert got == expected, table


def test_user_id_is_a_key(demo):
    con, _ = demo
    n, distinct, nulls, lo, hi = _rows(
        con, "SELECT count(*), count(DISTINCT user_id), count(*) - count(user_id), min(user_id), max(user_id) FROM users"
    )[0]
    assert (n, distinct, nulls, lo, hi) == (PEOPLE, PEOPLE, 0, 1, PEOPLE)


def test_deterministic_across_connections():
    first, second = duckdb.connect(), duckdb.connect()
    generate_demo(first, people=500, seed=11, anchor=ANCHOR)
    generate_demo(second, people=500, seed=11, anchor=ANCHOR)
    assert _checksums(first) == _checksums(second)


def test_regenerating_replaces_tables(demo):
    con = duckdb.connect()
    generate_demo(con, people=300, seed=3, anchor=ANCHOR)
    before = _checksums(con)
    generate_demo(con, people=300, seed=3, anchor=ANCHOR)
    assert _checksums(con) == before


def test_seed_changes_every_table():
    a, b = duckdb.connect(), duckdb.connect()
    generate_demo(a, people=500, seed=1, anchor=ANCHOR)
    generate_demo(b, people=500, seed=2, anchor=ANCHOR)
    sums_a, sums_b = _checksums(a), _checksums(b)
    for table in TABLES:
        assert sums_a[table][1] != sums_b[table][1], table


def test_custom_schema_is_quoted_and_used():
    con = duckdb.connect()
    counts = generate_demo(con, people=100, anchor=ANCHOR, schema='demo "shop"; x')
    assert counts["users"] == 100
    tables = _rows(
        con, "SELECT table_name FROM information_schema.tables WHERE table_schema = $s ORDER BY 1", s='demo "shop"; x'
    )
    assert [t for (t,) in tables] == sorted(TABLES)
    assert _one(con, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'") == 0


def test_rejects_bad_arguments():
    con = duckdb.connect()
    with pytest.raises(ValueError):
        generate_demo(con, people=-1, anchor=ANCHOR)
    with pytest.raises(TypeError):
        generate_demo(con, people=10, anchor=datetime.date(2026, 1, 1))


@pytest.mark.parametrize("table", TABLES)
def test_tables_are_stored_in_timestamp_order(demo, table):
    con, _ = demo
    col = TIMESTAMP_COLUMNS[table]
    out_of_order = _one(
        con, f"SELECT count(*) FROM (SELECT {col} < lag({col}) OVER (ORDER BY rowid) AS bad FROM {table}) WHERE bad"
    )
    assert out_of_order == 0


@pytest.mark.parametrize("table", TABLES)
def test_timestamps_mostly_before_anchor(demo, table):
    con, _ = demo
    col = TIMESTAMP_COLUMNS[table]
    n, after, earliest, latest = _rows(
        con, f"SELECT count(*), count(*) FILTER (WHERE {col} > $a), min({col}), max({col}) FROM {table}", a=ANCHOR
    )[0]
    assert after <= 0.005 * n
    assert earliest >= ANCHOR - datetime.timedelta(days=410)
    assert latest <= ANCHOR + datetime.timedelta(days=3)


def test_future_rows_exist(demo):
    con, _ = demo
    assert _one(con, "SELECT count(*) FROM events WHERE occurred_at > $a", a=ANCHOR) > 0
    scheduled = _one(con, "SELECT count(*) FROM message_activity WHERE occurred_at > $a", a=ANCHOR)
    assert 0 < scheduled < 100


def test_orphan_events_exist(demo):
    con, counts = demo
    orphans = _one(con, "SELECT count(*) FROM events ANTI JOIN users USING (user_id)")
    assert 0 < orphans < 0.005 * counts["events"]
    for table in ("page_views", "message_activity", "devices"):
        assert _one(con, f"SELECT count(*) FROM {table} ANTI JOIN users USING (user_id)") == 0, table


def test_purchase_amounts_mostly_numeric_some_na(demo):
    con, _ = demo
    total, na, numeric, bad_category = _rows(con, """
        SELECT count(*),
               count(*) FILTER (WHERE properties ->> 'amount' = 'n/a'),
               count(*) FILTER (WHERE json_type(properties, '$.amount') IN ('DOUBLE', 'UBIGINT', 'BIGINT')
                                AND try_cast(properties ->> 'amount' AS DOUBLE) > 0),
               count(*) FILTER (WHERE properties ->> 'category' NOT IN
                   ('coats', 'boots', 'sweaters', 'scarves', 't-shirts', 'shorts', 'sandals', 'accessories'))
        FROM events WHERE event_name = 'purchase'""")[0]
    assert na > 0
    assert na + numeric == total
    assert na < 0.02 * total
    assert bad_category == 0


def test_value_domains(demo):
    con, _ = demo
    assert {r[0] for r in _rows(con, "SELECT DISTINCT event_name FROM events")} == {
        "login", "app_open", "add_to_cart", "checkout_started", "purchase", "course_started", "course_completed"}
    assert {r[0] for r in _rows(con, "SELECT DISTINCT channel FROM events")} == {"web", "ios", "android"}
    assert {r[0] for r in _rows(con, "SELECT DISTINCT activity FROM message_activity")} == {
        "email_delivered", "email_opened", "email_clicked", "sms_delivered", "sms_clicked",
        "push_delivered", "push_opened", "unsubscribed"}
    assert {r[0] for r in _rows(con, "SELECT DISTINCT plan FROM users")} == {"free", "trial", "pro", "business"}
    assert {r[0] for r in _rows(con, "SELECT DISTINCT language FROM users")} <= {"en", "de", "fr", "es", "pt", "pl"}
    assert {r[0] for r in _rows(con, "SELECT DISTINCT platform FROM devices")} == {"web", "ios", "android"}
    assert _one(con, "SELECT count(*) FROM message_activity WHERE properties ->> 'campaign' IS NULL") == 0
    assert _one(con, """SELECT count(*) FROM events WHERE event_name LIKE 'course%'
                        AND properties ->> 'course' NOT IN ('sql-basics', 'python-101', 'data-viz', 'marketing-analytics')""") == 0
    assert _one(con, r"SELECT count(*) FROM page_views WHERE NOT regexp_full_match(url, '/|/cart|/checkout|/(winter|summer)/[a-z-]+/[a-z-]+-\d+|/(blog|courses)/[a-z0-9-]+')") == 0
    # cities agree with countries
    assert _one(con, "SELECT count(*) FROM users WHERE city = 'London' AND country <> 'GB'") == 0
    assert _one(con, "SELECT count(*) FROM users WHERE city = 'Berlin' AND country <> 'DE'") == 0
    assert _one(con, "SELECT count(DISTINCT country) FROM (SELECT DISTINCT city, country FROM users) GROUP BY city ORDER BY 1 DESC LIMIT 1") == 1


def test_user_identifiers(demo):
    con, _ = demo
    null_email, mixed_case, null_phone, bad_phone, bad_email, dup_email = _rows(con, r"""
        SELECT avg((email IS NULL)::INT), avg((email <> lower(email))::INT), avg((phone IS NULL)::INT),
               count(*) FILTER (WHERE NOT regexp_full_match(phone, '\+[1-9]\d{9,13}')),
               count(*) FILTER (WHERE NOT regexp_full_match(email, '[A-Za-z]+\.[A-Za-z]+\d+@[A-Za-z-]+\.(com|COM)')),
               count(email) - count(DISTINCT lower(email))
        FROM users""")[0]
    assert 0.002 < null_email < 0.03
    assert 0.005 < mixed_case < 0.05
    assert 0.2 < null_phone < 0.4
    assert bad_phone == 0 and bad_email == 0 and dup_email == 0


def test_draws_are_independent(demo):
    # 30 first x 30 last names: independent draws give ~800 distinct pairs in 2000
    # people; draws whose hashes differ by a constant XOR tie the two parities (<= 450)
    con, _ = demo
    assert _one(con, "SELECT count(DISTINCT (first_name, last_name)) FROM users") > 650
    assert _one(con, "SELECT count(DISTINCT (country, plan, language, marketing_opt_in)) FROM users") > 60


def test_user_attributes_agree_with_events(demo):
    con, _ = demo
    trial_outside, non_trial_with_end, no_login, negative_ltv = _rows(con, """
        SELECT count(*) FILTER (WHERE plan = 'trial' AND trial_ends_at NOT BETWEEN $a - INTERVAL 10 DAY AND $a + INTERVAL 14 DAY),
               count(*) FILTER (WHERE plan <> 'trial' AND trial_ends_at IS NOT NULL),
               avg((last_login_at IS NULL)::INT),
               count(*) FILTER (WHERE lifetime_value < 0)
        FROM users""", a=ANCHOR)[0]
    assert trial_outside == 0 and non_trial_with_end == 0 and negative_ltv == 0
    assert 0.01 < no_login < 0.08
    assert _one(con, "SELECT count(*) FROM users WHERE last_login_at > $a", a=ANCHOR) == 0
    mismatched = _one(con, """
        SELECT count(*) FROM users u LEFT JOIN (
            SELECT user_id, sum(try_cast(properties ->> 'amount' AS DECIMAL(18, 2))) AS spent
            FROM events WHERE event_name = 'purchase' AND occurred_at <= $a GROUP BY user_id) p USING (user_id)
        WHERE abs(u.lifetime_value - coalesce(p.spent, 0)) > 0.005""", a=ANCHOR)
    assert mismatched == 0


def test_opened_and_clicked_last_30_days_is_a_minority(demo):
    con, _ = demo
    engaged = _one(con, """
        SELECT count(*) FROM (
            SELECT user_id FROM message_activity
            WHERE occurred_at > $a - INTERVAL 30 DAY AND occurred_at <= $a
            GROUP BY user_id
            HAVING count(*) FILTER (WHERE activity = 'email_opened') > 0
               AND count(*) FILTER (WHERE activity = 'email_clicked') > 0)""", a=ANCHOR)
    assert 0.02 * PEOPLE <= engaged <= 0.40 * PEOPLE
    delivered, opened, clicked = _rows(con, """
        SELECT count(*) FILTER (WHERE activity = 'email_delivered'), count(*) FILTER (WHERE activity = 'email_opened'),
               count(*) FILTER (WHERE activity = 'email_clicked') FROM message_activity""")[0]
    assert delivered > opened > clicked > 0


def test_behaviour_cohorts_exist(demo):
    con, _ = demo
    # purchase milestone
    heavy = _one(con, """SELECT count(*) FROM (SELECT user_id FROM events WHERE event_name = 'purchase'
                         AND occurred_at <= $a GROUP BY user_id HAVING count(*) >= 10)""", a=ANCHOR)
    assert 0.005 * PEOPLE <= heavy <= 0.15 * PEOPLE
    # abandoned cart: carted in the last 7 days, no purchase in 30
    abandoned = _one(con, """
        SELECT count(DISTINCT user_id) FROM events c
        WHERE event_name = 'add_to_cart' AND occurred_at > $a - INTERVAL 7 DAY AND occurred_at <= $a
          AND NOT EXISTS (SELECT 1 FROM events p WHERE p.user_id = c.user_id AND p.event_name = 'purchase'
                          AND p.occurred_at > $a - INTERVAL 30 DAY AND p.occurred_at <= $a)""", a=ANCHOR)
    assert 0.02 * PEOPLE <= abandoned <= 0.3 * PEOPLE
    # lapsed: active long ago, silent for the last 60 days
    lapsed = _one(con, """
        SELECT count(*) FROM (SELECT user_id FROM events GROUP BY user_id
            HAVING min(occurred_at) < $a - INTERVAL 90 DAY
               AND count(*) FILTER (WHERE occurred_at > $a - INTERVAL 60 DAY) = 0)""", a=ANCHOR)
    assert lapsed >= 0.05 * PEOPLE
    # course completers in London and Berlin
    cities = {r[0] for r in _rows(con, """
        SELECT DISTINCT city FROM events JOIN users USING (user_id)
        WHERE event_name = 'course_completed' AND city IN ('London', 'Berlin')""")}
    assert cities == {"London", "Berlin"}
    # winter browsing concentrated in the last ~2 months
    recent_share = _one(con, """
        SELECT avg((viewed_at > $a - INTERVAL 60 DAY)::INT) FROM page_views WHERE url LIKE '/winter/%'""", a=ANCHOR)
    assert recent_share > 0.4
    coats_this_week = _one(con, """
        SELECT count(*) FROM (SELECT user_id FROM page_views WHERE url LIKE '/winter/coats/%'
            AND viewed_at > $a - INTERVAL 7 DAY AND viewed_at <= $a GROUP BY user_id HAVING count(*) >= 3)""", a=ANCHOR)
    assert coats_this_week > 0


def test_empty_population():
    con = duckdb.connect()
    counts = generate_demo(con, people=0, anchor=ANCHOR)
    assert counts == {t: 0 for t in TABLES}
