"""The reference evaluator (tests/reference.py) on the language's second edition, rule by rule of
SPEC section 4: each test is a boundary the SPEC states, computed by hand here."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest

import reference
from reference import Undefined, members

AS_OF = dt.datetime(2026, 11, 1, 12, 0)
MICRO = dt.timedelta(microseconds=1)
STREAMS = {"event": reference.StreamDef("user_id", "occurred_at", "event_name", "properties"),
           "page_view": reference.StreamDef("user_id", "viewed_at", "url")}
PEOPLE = [{"user_id": 1}]


def ev(name, at, **props):
    return {"user_id": 1, "event_name": name, "occurred_at": at, "properties": props}


def holds(condition, events=(), page_views=(), people=PEOPLE, as_of=AS_OF, **kwargs) -> bool:
    return 1 in members(condition, list(people), {"event": list(events), "page_view": list(page_views)},
                        as_of=as_of, stream_defs=STREAMS, **kwargs)


# --- at_least -------------------------------------------------------------------------------------------
def test_at_least_k_of_n():
    person = [{"user_id": 1, "plan": "pro", "country": "DE", "age": 30}]
    of = [{"attribute": "plan", "equals": "pro"}, {"attribute": "country", "equals": "US"},
          {"attribute": "age", "gte": 18}]
    assert holds({"at_least": 2, "of": of}, people=person)
    assert not holds({"at_least": 3, "of": of}, people=person)
    assert holds({"at_least": 1, "of": of[1:2] + of[:1]}, people=person)


# --- sequences ------------------------------------------------------------------------------------------
CART_THEN_BUY = {"sequence": [{"event": "add_to_cart"}, {"event": "purchase", "within_after": "1h"}]}
T0 = dt.datetime(2026, 10, 30, 9, 0)


@pytest.mark.parametrize("gap,expected", [
    (dt.timedelta(hours=1), True),                 # exactly at within_after: inclusive
    (dt.timedelta(hours=1) + MICRO, False),        # one microsecond past
    (MICRO, True),                                 # strictly later, by a microsecond
    (dt.timedelta(0), False),                      # equal timestamps never chain
    (-MICRO, False),                               # earlier never chains
])
def test_sequence_within_after_bound_and_strict_order(gap, expected):
    assert holds(CART_THEN_BUY, [ev("add_to_cart", T0), ev("purchase", T0 + gap)]) is expected


def test_sequence_chains_through_a_later_first_row():
    # the purchase is 2h after the first cart but 30 min after the second: some r1 works
    rows = [ev("add_to_cart", T0), ev("add_to_cart", T0 + dt.timedelta(minutes=90)),
            ev("purchase", T0 + dt.timedelta(hours=2))]
    assert holds(CART_THEN_BUY, rows)


def test_sequence_three_steps_across_streams_each_strictly_later():
    c = {"sequence": [{"event": "signup"}, {"page_view": "/onboarding*"}, {"event": "purchase"}]}
    view = {"user_id": 1, "url": "/onboarding/done", "viewed_at": T0 + dt.timedelta(hours=1)}
    assert holds(c, [ev("signup", T0), ev("purchase", T0 + dt.timedelta(hours=2))], [view])
    # the purchase at the same instant as the page view does not chain after it
    assert not holds(c, [ev("signup", T0), ev("purchase", T0 + dt.timedelta(hours=1))], [view])
    # the page view before the signup does not count
    assert not holds(c, [ev("signup", T0 + dt.timedelta(hours=1, minutes=1)),
                         ev("purchase", T0 + dt.timedelta(hours=2))], [view])


def test_sequence_rows_after_as_of_never_match():
    assert not holds(CART_THEN_BUY, [ev("add_to_cart", AS_OF - MICRO), ev("purchase", AS_OF + MICRO)])
    assert holds(CART_THEN_BUY, [ev("add_to_cart", AS_OF - MICRO), ev("purchase", AS_OF)])


def test_sequence_step_windows_are_relative_to_as_of():
    c = {"sequence": [{"event": "add_to_cart", "within": "1d"}, {"event": "purchase"}]}
    assert not holds(c, [ev("add_to_cart", AS_OF - dt.timedelta(days=1)), ev("purchase", AS_OF)])
    assert holds(c, [ev("add_to_cart", AS_OF - dt.timedelta(days=1) + MICRO), ev("purchase", AS_OF)])


@pytest.mark.parametrize("cart,buy,expected", [
    ({"sku": "A1"}, {"sku": "A1"}, True),
    ({"sku": "A1"}, {"sku": "B2"}, False),
    ({"sku": None}, {"sku": None}, False),        # NULL never equals NULL
    ({}, {}, False),                              # missing on both sides: NULL
    ({"sku": 7}, {"sku": "7"}, True),             # equal text forms
    ({"sku": "a1"}, {"sku": "A1"}, False),        # case-sensitive
])
def test_sequence_same_compares_non_null_text_forms(cart, buy, expected):
    c = {"sequence": [{"event": "add_to_cart"}, {"event": "purchase", "same": ["properties.sku"]}]}
    assert holds(c, [ev("add_to_cart", T0, **cart), ev("purchase", T0 + dt.timedelta(minutes=5), **buy)]) is expected


NO_PURCHASE = {"sequence": [{"event": "add_to_cart"},
                            {"event": "purchase", "within_after": "1h", "same": ["properties.sku"],
                             "performed": False}]}


@pytest.mark.parametrize("cart_at,expected", [
    (AS_OF - dt.timedelta(hours=1), True),          # the wait ends exactly at as_of: over
    (AS_OF - dt.timedelta(hours=1) + MICRO, False),  # a microsecond short of the hour: not yet
    (AS_OF - dt.timedelta(days=2), True),
])
def test_negative_last_step_holds_once_its_wait_is_over(cart_at, expected):
    assert holds(NO_PURCHASE, [ev("add_to_cart", cart_at, sku="A1")]) is expected


def test_negative_last_step_looks_only_within_its_wait_and_at_the_same_item():
    cart = ev("add_to_cart", T0, sku="A1")
    assert not holds(NO_PURCHASE, [cart, ev("purchase", T0 + dt.timedelta(hours=1), sku="A1")])  # bought in time
    assert holds(NO_PURCHASE, [cart, ev("purchase", T0 + dt.timedelta(hours=1) + MICRO, sku="A1")])  # too late
    assert holds(NO_PURCHASE, [cart, ev("purchase", T0 + dt.timedelta(minutes=5), sku="B2")])  # another item
    assert not holds(NO_PURCHASE, [ev("purchase", T0)])  # no cart at all: no r1, so false
    # two carts: the second one has no purchase after it
    assert holds(NO_PURCHASE, [cart, ev("purchase", T0 + dt.timedelta(minutes=5), sku="A1"),
                               ev("add_to_cart", T0 + dt.timedelta(hours=3), sku="A1")])


def test_negative_last_step_without_within_after_needs_no_later_row_at_all():
    c = {"sequence": [{"event": "add_to_cart"}, {"event": "purchase", "performed": False}]}
    assert holds(c, [ev("add_to_cart", T0)])
    assert holds(c, [ev("purchase", T0), ev("add_to_cart", T0)])  # the same instant is not later
    assert not holds(c, [ev("add_to_cart", T0), ev("purchase", AS_OF)])


# --- calendar windows -----------------------------------------------------------------------------------
def test_day_week_month_quarter_year_periods_in_utc():
    as_of = dt.datetime(2026, 11, 4, 10, 0)  # a Wednesday, Q4
    cases = [  # (period, first instant, last instant)
        ({"unit": "day"}, dt.datetime(2026, 11, 4), as_of),
        ({"unit": "day", "offset": -1}, dt.datetime(2026, 11, 3), dt.datetime(2026, 11, 4) - MICRO),
        ({"unit": "week"}, dt.datetime(2026, 11, 2), as_of),  # Monday
        ({"unit": "week", "offset": -1}, dt.datetime(2026, 10, 26), dt.datetime(2026, 11, 2) - MICRO),  # to Sunday
        ({"unit": "month", "offset": -10}, dt.datetime(2026, 1, 1), dt.datetime(2026, 2, 1) - MICRO),
        ({"unit": "month", "offset": -11}, dt.datetime(2025, 12, 1), dt.datetime(2026, 1, 1) - MICRO),
        ({"unit": "quarter"}, dt.datetime(2026, 10, 1), as_of),
        ({"unit": "quarter", "offset": -4}, dt.datetime(2025, 10, 1), dt.datetime(2026, 1, 1) - MICRO),
        ({"unit": "year", "offset": -1}, dt.datetime(2025, 1, 1), dt.datetime(2026, 1, 1) - MICRO),
    ]
    for period, first, last in cases:
        def inside(t):
            return holds({"attribute": "at", "during": period}, people=[{"user_id": 1, "at": t}], as_of=as_of)
        assert inside(first) and inside(last), period
        assert not inside(first - MICRO) and not inside(last + MICRO), period


def test_offset_zero_is_so_far_in_this_period():
    assert not holds({"event": None, "during": {"unit": "day"}}, [ev("x", AS_OF + MICRO)])
    assert holds({"event": None, "during": {"unit": "day"}}, [ev("x", AS_OF)])


BERLIN = "Europe/Berlin"


def test_periods_start_at_local_midnight():
    # Berlin is UTC+1 in November: its 1 November starts at 31 October 23:00 UTC
    c = {"event": None, "during": {"unit": "day"}}
    assert holds(c, [ev("x", dt.datetime(2026, 10, 31, 23, 0))], time_zone=BERLIN)
    assert not holds(c, [ev("x", dt.datetime(2026, 10, 31, 23, 0) - MICRO)], time_zone=BERLIN)
    assert not holds(c, [ev("x", dt.datetime(2026, 10, 31, 23, 0))])  # in UTC it is still 31 October


def test_periods_across_dst_changes():
    # 29 March 2026: Berlin springs forward at 01:00 UTC; the local day lasts 23 hours, 28 Mar 23:00Z - 29 Mar 22:00Z
    as_of = dt.datetime(2026, 3, 30, 12, 0)
    c = {"event": None, "during": {"unit": "day", "offset": -1}}
    for t, expected in [(dt.datetime(2026, 3, 28, 23, 0), True), (dt.datetime(2026, 3, 28, 23, 0) - MICRO, False),
                        (dt.datetime(2026, 3, 29, 22, 0) - MICRO, True), (dt.datetime(2026, 3, 29, 22, 0), False)]:
        assert holds(c, [ev("x", t)], as_of=as_of, time_zone=BERLIN) is expected, t
    # 25 October 2026: falls back at 01:00 UTC; the local day lasts 25 hours, 24 Oct 22:00Z - 25 Oct 23:00Z
    as_of = dt.datetime(2026, 10, 26, 12, 0)
    for t, expected in [(dt.datetime(2026, 10, 24, 22, 0), True), (dt.datetime(2026, 10, 24, 22, 0) - MICRO, False),
                        (dt.datetime(2026, 10, 25, 23, 0) - MICRO, True), (dt.datetime(2026, 10, 25, 23, 0), False)]:
        assert holds(c, [ev("x", t)], as_of=as_of, time_zone=BERLIN) is expected, t
    # the month of March in Berlin: from 28 Feb 23:00Z (UTC+1) to 31 Mar 22:00Z (UTC+2)
    month = {"event": None, "during": {"unit": "month", "offset": -1}}
    as_of = dt.datetime(2026, 4, 10)
    assert holds(month, [ev("x", dt.datetime(2026, 2, 28, 23, 0))], as_of=as_of, time_zone=BERLIN)
    assert not holds(month, [ev("x", dt.datetime(2026, 3, 31, 22, 0))], as_of=as_of, time_zone=BERLIN)
    assert holds(month, [ev("x", dt.datetime(2026, 3, 31, 22, 0) - MICRO)], as_of=as_of, time_zone=BERLIN)


def test_as_of_is_placed_in_its_local_period_too():
    # as_of 2026-11-01 23:30 UTC is 2 November 00:30 in Berlin: "today" there is 2 November
    as_of = dt.datetime(2026, 11, 1, 23, 30)
    c = {"event": None, "during": {"unit": "day"}}
    assert not holds(c, [ev("x", dt.datetime(2026, 11, 1, 22, 0))], as_of=as_of, time_zone=BERLIN)
    assert holds(c, [ev("x", dt.datetime(2026, 11, 1, 23, 0))], as_of=as_of, time_zone=BERLIN)


# --- after / before a people attribute ------------------------------------------------------------------
SIGNUP = dt.datetime(2026, 10, 20, 8, 0)


@pytest.mark.parametrize("t,after,after_7d,before,before_1d", [
    (SIGNUP, False, False, False, False),                                 # the same instant: neither
    (SIGNUP + MICRO, True, True, False, False),
    (SIGNUP + dt.timedelta(days=7), True, True, False, False),            # within: inclusive
    (SIGNUP + dt.timedelta(days=7) + MICRO, True, False, False, False),
    (SIGNUP - MICRO, False, False, True, True),
    (SIGNUP - dt.timedelta(days=1), False, False, True, True),            # within: inclusive
    (SIGNUP - dt.timedelta(days=1) - MICRO, False, False, True, False),
])
def test_after_and_before_a_people_column(t, after, after_7d, before, before_1d):
    people = [{"user_id": 1, "signed_up_at": SIGNUP}]
    rows = [ev("x", t)]
    assert holds({"event": None, "after": {"attribute": "signed_up_at"}}, rows, people=people) is after
    assert holds({"event": None, "after": {"attribute": "signed_up_at", "within": "7d"}}, rows,
                 people=people) is after_7d
    assert holds({"event": None, "before": {"attribute": "signed_up_at"}}, rows, people=people) is before
    assert holds({"event": None, "before": {"attribute": "signed_up_at", "within": "1d"}}, rows,
                 people=people) is before_1d


def test_a_null_anchor_has_no_matching_rows():
    people = [{"user_id": 1, "signed_up_at": None}]
    rows = [ev("x", T0)]
    assert not holds({"event": None, "after": {"attribute": "signed_up_at"}}, rows, people=people)
    assert holds({"event": None, "after": {"attribute": "signed_up_at"}, "performed": False}, rows, people=people)
    iso = [{"user_id": 1, "signed_up_at": "2026-10-29T00:00:00Z"}]  # ISO text reads as a time
    assert holds({"event": None, "after": {"attribute": "signed_up_at"}}, rows, people=iso)


# --- nth, distinct, distinct_days, most_frequent -------------------------------------------------------
def test_nth_is_the_kth_smallest_timestamp_and_null_beyond_the_row_count():
    rows = [ev("p", AS_OF - dt.timedelta(days=d)) for d in (1, 10, 3)]
    assert holds({"event": "p", "nth": {"n": 2, "within": "4d"}}, rows)  # 2nd smallest: 3 days ago
    assert not holds({"event": "p", "nth": {"n": 1, "within": "4d"}}, rows)  # 1st: 10 days ago
    assert holds({"event": "p", "nth": {"n": 3, "exists": True}}, rows)
    assert not holds({"event": "p", "nth": {"n": 4, "exists": True}}, rows)  # beyond the rows: NULL
    assert holds({"event": "p", "nth": {"n": 4, "exists": False}}, rows)
    assert not holds({"event": "p", "nth": {"n": 4, "older_than": "1d"}}, rows)  # NULL: every comparison false
    tied = [ev("p", T0), ev("p", T0)]
    assert holds({"event": "p", "nth": {"n": 2, "lte": T0.isoformat()}}, tied)  # ties count as separate rows


def test_distinct_counts_non_null_text_forms():
    rows = [ev("v", T0, sku=s) for s in ("A", "a", "A", None, 7, "7", 7.5, True, "true")] + [ev("v", T0)]
    # "A", "a", "7" (7 and "7"), "7.5", "true" (true and "true"): 5; NULL and missing are not values
    assert holds({"event": "v", "distinct": {"of": "properties.sku", "equals": 5}}, rows)
    assert holds({"event": "v", "distinct": {"of": "properties.sku", "equals": 0}}, [])  # no rows: 0
    assert holds({"event": "v", "distinct": {"of": "properties.sku", "equals": 0}}, [ev("v", T0, sku=None)])
    with pytest.raises(Undefined):
        members({"event": "v", "distinct": {"of": "properties.sku", "gte": 1}}, PEOPLE,
                {"event": [ev("v", T0, sku={"nested": 1})]}, as_of=AS_OF, stream_defs=STREAMS)


def test_distinct_days_counts_local_dates():
    # 31 Oct 22:30Z and 23:30Z: one UTC date, two Berlin dates (31 Oct and 1 Nov)
    rows = [ev("v", dt.datetime(2026, 10, 31, 22, 30)), ev("v", dt.datetime(2026, 10, 31, 23, 30))]
    assert holds({"event": "v", "distinct_days": {"equals": 1}}, rows)
    assert holds({"event": "v", "distinct_days": {"equals": 2}}, rows, time_zone=BERLIN)
    assert holds({"event": "v", "distinct_days": {"equals": 0}}, [])


def test_most_frequent_ties_go_to_the_smallest_text_in_byte_order():
    def most(values, **ops):
        return holds({"event": "v", "most_frequent": {"of": "properties.c", **ops}},
                     [ev("v", T0, c=v) for v in values])
    assert most(["boots", "coats", "coats", None, None, None], equals="coats")  # NULLs are not values
    assert most(["coats", "boots"], equals="boots")  # tie: "boots" < "coats"
    assert most(["b", "B"], equals="B")  # byte order: "B" (0x42) < "b" (0x62)
    assert most(["é", "z"], equals="z")  # UTF-8 bytes: "z" (0x7a) < "é" (0xc3 0xa9)
    assert most(["Coats"], equals="coats", ignore_case=True)
    assert most(["coats"], contains="oat") and not most(["coats"], starts_with="oat")
    assert not most([None], not_equals="coats")  # no value: NULL, false even for not_equals
    assert not most([], not_in=["coats"])


# --- segment references with split ---------------------------------------------------------------------
def group(salt, key, groups):
    bucket = int(hashlib.md5(f"{salt}:{key}".encode()).hexdigest()[:8], 16) % 100
    upper = 0
    for name, percent in groups.items():
        upper += percent
        if bucket < upper:
            return name


def test_split_aware_references():
    people = [{"user_id": k, "plan": "pro" if k % 3 else "free"} for k in range(1, 40)]
    groups = {"control": 30, "variant": 70}
    segments = {"exp": {"attribute": "plan", "equals": "pro"}}
    splits = {"exp": {"salt": "s1", "groups": groups}}
    control = members({"segment": "exp", "split": ["control"]}, people, as_of=AS_OF, segments=segments, splits=splits)
    expected = {p["user_id"] for p in people if p["plan"] == "pro" and group("s1", p["user_id"], groups) == "control"}
    assert control == expected and 0 < len(control) < 26
    both = members({"segment": "exp", "split": ["control", "variant"]}, people, as_of=AS_OF, segments=segments,
                   splits=splits)
    assert both == members({"segment": "exp"}, people, as_of=AS_OF, segments=segments)
    default_salt = members({"segment": "exp", "split": ["control"]}, people, as_of=AS_OF, segments=segments,
                           splits={"exp": {"groups": groups}})
    assert default_salt == {p["user_id"] for p in people  # the salt defaults to the segment's name
                            if p["plan"] == "pro" and group("exp", p["user_id"], groups) == "control"}
    assert default_salt != control


# --- the default count ----------------------------------------------------------------------------------
def test_no_default_count_beside_a_second_edition_aggregate():
    # decision: the default count >= 1 applies only without any aggregate key (reference header)
    assert holds({"event": "v", "distinct": {"of": "properties.sku", "equals": 0}}, [])
