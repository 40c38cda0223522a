"""Conditions read aloud (segwarehouse/reading.py): every construct of SPEC section 4, second edition
included, parsed from YAML as a user writes it and read as the sentence a marketer would say."""
from __future__ import annotations

import textwrap

import pytest

from conftest import PROJECT_YML, write_project
from segwarehouse.project.loader import load_project
from segwarehouse.reading import lines, sentence

STREAMS = PROJECT_YML + """\
  page_view: {table: main.page_views, key: user_id, timestamp: viewed_at, name: url}
  activity: {table: main.activity, key: user_id, timestamp: occurred_at, name: activity}
  device: {table: main.devices, key: user_id, timestamp: seen_at, name: platform}
"""

# (construct, the `where` as YAML, the sentence)
CASES = [
    # attributes
    ("equals", "{attribute: plan, equals: pro}", "whose plan is pro"),
    ("not_equals", "{attribute: plan, not_equals: business}", "whose plan is not business"),
    ("in", "{attribute: city, in: [London, Berlin, Paris]}", "whose city is London, Berlin or Paris"),
    ("not_in", "{attribute: city, not_in: [London, Berlin]}", "whose city is neither London nor Berlin"),
    ("gte_and_lt", "{attribute: score, gte: 50, lt: 80}", "whose score is at least 50 and is less than 80"),
    ("gt_thousands", "{attribute: lifetime_value, gt: 12345}", "whose lifetime value is more than 12,345"),
    ("between", "{attribute: age, between: [18, 25]}", "whose age is between 18 and 25"),
    ("date_before", "{attribute: created_at, lt: 2026-01-01}", "whose created at is before 2026-01-01"),
    ("contains", '{attribute: email, contains: "gmail|yahoo", ignore_case: true}',
     'whose email contains "gmail" or "yahoo" (ignoring case)'),
    ("contains_all", '{attribute: tags, contains: "winter+sale"}', 'whose tags contains "winter" and "sale"'),
    ("not_contains", '{attribute: email, not_contains: "test"}', 'whose email does not contain "test"'),
    ("starts_with", "{attribute: phone, starts_with: '+44'}", 'whose phone starts with "+44"'),
    ("ends_with", "{attribute: email, ends_with: .edu}", 'whose email ends with ".edu"'),
    ("matches", "{attribute: phone, matches: '^[0-9]+$'}", "whose phone matches the pattern /^[0-9]+$/"),
    ("exists", "{attribute: email, exists: true}", "whose email is set"),
    ("not_exists", "{attribute: email, exists: false}", "whose email is not set"),
    ("boolean", "{attribute: marketing_opt_in, equals: true}", "whose marketing opt in is true"),
    ("within", "{attribute: signup_at, within: 7d}", "whose signup at is in the last 7 days"),
    ("older_than", "{attribute: last_login_at, older_than: 30d}", "whose last login at is more than 30 days ago"),
    ("within_next", "{attribute: trial_ends_at, within_next: 1w}", "whose trial ends at is in the next 1 week"),
    ("attribute_during", "{attribute: birthday_at, during: {unit: week}}", "whose birthday at is this week (so far)"),
    ("attribute_during_last", "{attribute: created_at, during: {unit: month, offset: -1}}",
     "whose created at is last month"),
    ("attribute_during_earlier", "{attribute: created_at, during: {unit: quarter, offset: -3}}",
     "whose created at is 3 quarters ago"),
    # streams
    ("default_count", "{activity: email_opened, within: 30d}", "opened an email at least once in the last 30 days"),
    ("count_exact", "{event: purchase, count: {equals: 3}}", "bought something exactly 3 times"),
    ("count_between", "{event: login, within: 14d, count: {between: [2, 5]}}",
     "logged in between 2 and 5 times in the last 14 days"),
    ("performed_false_window", "{event: purchase, within: 3d, performed: false}",
     "did not buy anything in the last 3 days"),
    ("performed_false_ever", "{event: purchase, performed: false}", "never bought anything"),
    ("unknown_event", "{event: trial_converted_v2, within: 7d}", 'did "trial_converted_v2" at least once in the last 7 days'),
    ("alternatives", '{event: "add_to_cart|checkout_started"}',
     "added an item to the cart or started checkout at least once"),
    ("page_glob", '{page_view: "*/winter/*", count: {gte: 3}}', 'viewed a page matching "*/winter/*" at least 3 times'),
    ("any_row", "{page_view: null}", "viewed a page at least once"),
    ("where", "{event: purchase, where: {properties.category: [coats, boots], properties.amount: {gte: 50}}}",
     "bought something where the category is coats or boots and the amount is at least 50, at least once"),
    ("since_until", "{event: purchase, since: 2026-01-01, until: 2026-02-01}",
     "bought something at least once since 2026-01-01, before 2026-02-01"),
    ("older_than_window", "{event: purchase, older_than: 90d}", "bought something at least once more than 90 days ago"),
    ("sum_avg", "{event: purchase, within: 90d, sum: {of: properties.amount, gte: 500}, "
                "avg: {of: properties.amount, gte: 50}}",
     "bought something in the last 90 days, where the total amount is at least 500 and the average amount is "
     "at least 50"),
    ("min_max", "{event: purchase, min: {of: properties.amount, gt: 10}, max: {of: properties.amount, lte: 100}}",
     "bought something, where the smallest amount is more than 10 and the largest amount is at most 100"),
    ("first", "{event: purchase, first: {within: 14d}}", "bought something, where the first time was in the last 14 days"),
    ("last", "{event: purchase, last: {older_than: 90d}}",
     "bought something, where the last time was more than 90 days ago"),
    # second edition: aggregates and windows
    ("nth", "{event: purchase, nth: {n: 3, within: 7d}}", "bought something, where the 3rd time was in the last 7 days"),
    ("nth_11th", "{event: purchase, nth: {n: 11, within: 7d}}",
     "bought something, where the 11th time was in the last 7 days"),
    ("distinct", "{event: purchase, distinct: {of: properties.sku, gte: 3}}",
     "bought something, where the number of different sku values is at least 3"),
    ("distinct_days", "{event: login, within: 30d, distinct_days: {gte: 5}}",
     "logged in in the last 30 days on at least 5 different days"),
    ("most_frequent", "{event: purchase, most_frequent: {of: properties.category, equals: coats}}",
     "bought something, where the most frequent category is coats"),
    ("most_frequent_case", "{event: purchase, most_frequent: {of: properties.category, in: [coats, boots], "
                           "ignore_case: true}}",
     "bought something, where the most frequent category is coats or boots (ignoring case)"),
    ("during", "{event: purchase, during: {unit: month, offset: -1}}", "bought something at least once last month"),
    ("during_today", "{event: purchase, during: {unit: day}}", "bought something at least once today (so far)"),
    ("after", "{event: purchase, after: {attribute: signed_up_at, within: 7d}}",
     "bought something at least once within 7 days after their signed up at"),
    ("before", "{event: purchase, before: {attribute: trial_ends_at}}",
     "bought something at least once before their trial ends at"),
    # sequences
    ("sequence_negative", """
        sequence:
          - {event: add_to_cart, within: 7d}
          - {event: purchase, within_after: 1h, same: [properties.sku], performed: false}
        """,
     "added an item to the cart in the last 7 days, then did not buy anything with the same sku within 1 hour "
     "(once that time has passed)"),
    ("sequence_three_steps", """
        sequence:
          - {event: signup}
          - {page_view: "*/pricing*", within_after: 2d}
          - {event: purchase, within_after: 1w}
        """,
     'signed up, then viewed a page matching "*/pricing*" within 2 days, then bought something within 1 week'),
    # references, escape hatch, static
    ("segment", "{segment: vip}", "in segment vip"),
    ("split", "{segment: experiment, split: [variant_a]}", "in the variant_a group of segment experiment"),
    ("splits", "{segment: experiment, split: [control, variant_a]}",
     "in the control or variant_a groups of segment experiment"),
    ("sql", '{sql: "lifetime_value >= 50"}', "for whom this SQL holds: lifetime_value >= 50"),
    ("device", "{device: ios, within: 30d}", 'used the device "ios" at least once in the last 30 days'),
]

GROUPS = """
    at_least: 2
    of:
      - all:
          - {attribute: plan, equals: pro}
          - any:
              - {segment: vip}
              - not: {activity: unsubscribed}
      - none:
          - {attribute: email, exists: false}
      - {event: purchase, within: 30d}
    """


def _segments() -> dict[str, str]:
    entries = [f"  - name: c{i}\n    where:\n" + textwrap.indent(textwrap.dedent(where).strip(), "      ")
               for i, (_, where, _) in enumerate(CASES)]
    entries.append("  - name: groups\n    where:\n" + textwrap.indent(textwrap.dedent(GROUPS).strip(), "      "))
    return {"cases.yml": "segments:\n" + "\n".join(entries) + "\n",
            "vip.yml": "name: vip\nstatic: {csv: vip.csv, column: email, match_on: email}\n",
            "experiment.yml": "name: experiment\nsplits: {groups: {control: 10, variant_a: 90}}\n"
                              "where: {attribute: plan, equals: pro}\n"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = write_project(tmp_path_factory.mktemp("reading") / "p", _segments(), STREAMS, files={"vip.csv": "email\n"})
    return load_project(root)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_each_construct_reads_as_a_sentence(loaded, index):
    _, _, expected = CASES[index]
    assert sentence(loaded.segments[f"c{index}"].condition) == expected


def test_groups_read_as_headings_with_their_items_indented(loaded):
    read = [(line.depth, line.text, line.segment) for line in lines(loaded.segments["groups"].condition)]
    assert read == [
        (0, "at least 2 of these 3:", None),
        (1, "all of these:", None),
        (2, "whose plan is pro", None),
        (2, "any of these:", None),
        (3, "in segment vip", "vip"),
        (3, "not this:", None),
        (4, "unsubscribed at least once", None),
        (1, "none of these:", None),
        (2, "whose email is not set", None),
        (1, "bought something at least once in the last 30 days", None),
    ]


def test_static_segment_reads_as_its_uploaded_list(loaded):
    assert sentence(loaded.segments["vip"].condition) == "on the uploaded list of vip (matched by email)"


def test_every_example_segment_reads_without_model_words(tmp_path):
    """The shipped project: no sentence falls back to the model's vocabulary (gte, count, ...)."""
    from conftest import ROOT

    for segment in load_project(ROOT).segments.values():
        for line in lines(segment.condition):
            assert not any(word in line.text.split() for word in ("gte", "lte", "count", "equals", "None")), line
