"""Fifty segments over the demo data, and the same fifty member sets as hand-written DuckDB SQL.

Ten common shapes (recent activity, counts, sums, globs, abandoned carts, attributes, all-history
recency), five parameter values each. The hand-written queries are what an analyst would write
for one segment at a time: a window-filtered semi-join or GROUP BY ... HAVING per segment."""
from __future__ import annotations

import datetime as dt

AS_OF = dt.datetime(2026, 11, 1)
TS = "TIMESTAMP '2026-11-01 00:00:00'"
IN_USERS = "SELECT user_id FROM main.users WHERE user_id IN ({inner})"


def _window(column: str, days: int) -> str:
    return f"{column} > {TS} - INTERVAL {days} DAY AND {column} <= {TS}"


def segments() -> list[dict]:
    out: list[dict] = []
    for n in (7, 14, 30, 60, 90):
        out.append({"name": f"opened_within_{n}", "where": {"activity": "email_opened", "within": f"{n}d"}})
    for k in (1, 2, 3, 5, 8):
        out.append({"name": f"buyers_{k}", "where": {"event": "purchase", "within": "90d", "count": {"gte": k}}})
    for x in (50, 100, 200, 400, 800):
        out.append({"name": f"spenders_{x}", "where": {
            "event": "purchase", "within": "30d", "sum": {"of": "properties.amount", "gte": x}}})
    for n in (7, 14, 21, 30, 60):
        out.append({"name": f"winter_browsers_{n}", "where": {
            "page_view": "/winter/*", "within": f"{n}d", "count": {"gte": 3}}})
    for n in (1, 3, 5, 7, 14):
        out.append({"name": f"abandoned_{n}", "where": {"all": [
            {"event": "add_to_cart", "within": f"{n}d"},
            {"event": "purchase", "within": f"{n}d", "performed": False}]}})
    for c in ("US", "GB", "DE", "FR", "PL"):
        out.append({"name": f"paying_{c.lower()}", "where": {"all": [
            {"attribute": "plan", "in": ["pro", "business"]}, {"attribute": "country", "equals": c}]}})
    for n in (7, 14, 30, 60, 90):
        out.append({"name": f"dormant_{n}", "where": {"attribute": "last_login_at", "older_than": f"{n}d"}})
    for n in (7, 14, 30, 60, 90):
        out.append({"name": f"engaged_{n}", "where": {"all": [
            {"activity": "email_opened", "within": f"{n}d"}, {"activity": "email_clicked", "within": f"{n}d"}]}})
    for n in (1, 7, 14, 30, 90):
        out.append({"name": f"mobile_{n}", "where": {"device": "ios|android", "within": f"{n}d"}})
    for n in (30, 60, 90, 180, 365):
        out.append({"name": f"lapsed_{n}", "where": {"event": "purchase", "last": {"older_than": f"{n}d"}}})
    return out


def hand_written() -> dict[str, str]:
    """One tuned query per segment, each returning the members' user_id."""
    q: dict[str, str] = {}
    for n in (7, 14, 30, 60, 90):
        q[f"opened_within_{n}"] = IN_USERS.format(inner=(
            f"SELECT user_id FROM main.message_activity WHERE activity = 'email_opened' AND "
            f"{_window('occurred_at', n)}"))
    for k in (1, 2, 3, 5, 8):
        q[f"buyers_{k}"] = IN_USERS.format(inner=(
            f"SELECT user_id FROM main.events WHERE event_name = 'purchase' AND {_window('occurred_at', 90)} "
            f"GROUP BY user_id HAVING count(*) >= {k}"))
    for x in (50, 100, 200, 400, 800):
        q[f"spenders_{x}"] = IN_USERS.format(inner=(
            f"SELECT user_id FROM main.events WHERE event_name = 'purchase' AND {_window('occurred_at', 30)} "
            f"GROUP BY user_id HAVING sum(TRY_CAST(properties->>'$.amount' AS DECIMAL(38, 9))) >= {x}"))
    for n in (7, 14, 21, 30, 60):
        q[f"winter_browsers_{n}"] = IN_USERS.format(inner=(
            f"SELECT user_id FROM main.page_views WHERE url LIKE '/winter/%' AND {_window('viewed_at', n)} "
            f"GROUP BY user_id HAVING count(*) >= 3"))
    for n in (1, 3, 5, 7, 14):
        q[f"abandoned_{n}"] = (
            f"SELECT user_id FROM main.users WHERE user_id IN (SELECT user_id FROM main.events WHERE "
            f"event_name = 'add_to_cart' AND {_window('occurred_at', n)}) AND user_id NOT IN (SELECT user_id "
            f"FROM main.events WHERE event_name = 'purchase' AND {_window('occurred_at', n)})")
    for c in ("US", "GB", "DE", "FR", "PL"):
        q[f"paying_{c.lower()}"] = (
            f"SELECT user_id FROM main.users WHERE plan IN ('pro', 'business') AND country = '{c}'")
    for n in (7, 14, 30, 60, 90):
        q[f"dormant_{n}"] = (
            f"SELECT user_id FROM main.users WHERE last_login_at <= {TS} - INTERVAL {n} DAY")
    for n in (7, 14, 30, 60, 90):
        q[f"engaged_{n}"] = (
            f"SELECT user_id FROM main.users WHERE user_id IN (SELECT user_id FROM main.message_activity "
            f"WHERE activity = 'email_opened' AND {_window('occurred_at', n)}) AND user_id IN (SELECT user_id "
            f"FROM main.message_activity WHERE activity = 'email_clicked' AND {_window('occurred_at', n)})")
    for n in (1, 7, 14, 30, 90):
        q[f"mobile_{n}"] = IN_USERS.format(inner=(
            f"SELECT user_id FROM main.devices WHERE platform IN ('ios', 'android') AND "
            f"{_window('last_seen_at', n)}"))
    for n in (30, 60, 90, 180, 365):
        q[f"lapsed_{n}"] = IN_USERS.format(inner=(
            f"SELECT user_id FROM main.events WHERE event_name = 'purchase' AND occurred_at <= {TS} "
            f"GROUP BY user_id HAVING max(occurred_at) <= {TS} - INTERVAL {n} DAY"))
    return q
