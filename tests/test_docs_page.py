"""The catalogue (`segwarehouse docs`) rendered in headless Chromium (Debian's `chromium`, driven
through the DevTools protocol, tests/helpers/browser.py): the DOM has the figures of the last run
(checked against the output tables read independently), the size and overlap charts, conditions
as sentences and, in place of SQL, why a segment does not compile (a column the warehouse lacks);
typing in the search box hides the segments that do not match (the page's own JavaScript, executed); a screenshot is not blank.
Without Chromium these tests fail with the command that installs it: nothing is skipped."""
from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from conftest import write_project
from helpers.browser import Browser, non_white_pixels
from segwarehouse import Project

SEGMENTS = {
    "shop.yml": """\
        segments:
          - name: pro_users
            description: People on the pro plan
            tags: [billing]
            where: {attribute: plan, equals: pro}
          - name: high_scores
            description: Score of 50 or more
            tags: [scoring]
            where: {attribute: score, gte: 50}
          - name: recent_buyers
            description: Bought in the last 30 days
            tags: [commerce]
            where: {event: purchase, within: 30d}
        """,
    "later.yml": """\
        name: repeat_skus
        description: Bought 3 different products
        tags: [commerce]
        where:
          all:
            - event: purchase
              distinct: {of: properties.sku, gte: 3}
            - {attribute: loyalty_tier, equals: gold}   # not a column of users: refused
        """,
}


def _project(tmp_path) -> Project:
    root = write_project(tmp_path / "proj", SEGMENTS)
    con = duckdb.connect(str(root / "segwarehouse.duckdb"))
    con.execute("CREATE TABLE users AS SELECT i AS user_id, 'u' || i || '@example.com' AS email, "
                "CASE WHEN i % 4 = 0 THEN 'pro' ELSE 'free' END AS plan, i % 100 AS score FROM range(1, 2001) t(i)")
    con.execute("CREATE TABLE events AS SELECT i % 700 + 1 AS user_id, 'purchase' AS event_name, "
                "TIMESTAMP '2026-10-01' + i * INTERVAL 1 HOUR AS occurred_at, "
                "json_object('sku', 's' || (i % 5)) AS properties FROM range(0, 900) t(i)")
    con.close()
    return Project(root)


def _runs(project: Project) -> None:
    """Three runs, the data changing between them, so sizes move and people enter and exit."""
    project.run(["pro_users", "high_scores", "recent_buyers"], as_of="2026-10-20")
    con = duckdb.connect(str(project.dir / "segwarehouse.duckdb"))
    con.execute("UPDATE users SET plan = 'pro' WHERE user_id % 10 = 1")
    con.execute("UPDATE users SET score = (score + 7) % 100")
    con.close()
    project.run(["pro_users", "high_scores", "recent_buyers"], as_of="2026-10-27")
    project.run(["pro_users", "high_scores", "recent_buyers"], as_of="2026-11-03")


def _last_runs(project: Project) -> dict[str, tuple]:
    con = duckdb.connect()  # attached under an alias: the file's own name clashes with the output schema
    con.execute(f"ATTACH '{project.dir / 'segwarehouse.duckdb'}' AS w (READ_ONLY)")
    con.execute("USE w")
    rows = con.execute("SELECT segment, members, entered, exited, as_of FROM segwarehouse.segment_runs r "
                       "WHERE run_id = (SELECT max(run_id) FROM segwarehouse.segment_runs s "
                       "WHERE s.segment = r.segment AND status = 'success')").fetchall()
    con.close()
    return {r[0]: r[1:] for r in rows}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    project = _project(tmp)
    _runs(project)
    result = subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(project.dir), "docs",
                             "--output", str(tmp / "site")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    browser = Browser(width=1200, height=900)
    try:
        browser.open((tmp / "site" / "index.html").as_uri())
        yield browser, project
    finally:
        browser.close()


def _visible(browser: Browser, selector: str) -> list[str]:
    return browser.evaluate(f"[...document.querySelectorAll('{selector}')].filter(e => !e.hidden && "
                            "e.offsetParent !== null).map(e => e.dataset.segment)")


def test_the_page_shows_the_last_run_figures(page):
    browser, project = page
    expected = _last_runs(project)
    assert set(expected) == {"pro_users", "high_scores", "recent_buyers"}
    for name, (members, entered, exited, as_of) in expected.items():
        shown = browser.evaluate(
            f"[...document.querySelectorAll('section#{name} .figures b')].map(b => b.textContent)")
        assert shown == [f"{members:,}", f"{entered:,}", f"{exited:,}", as_of.strftime("%Y-%m-%d %H:%M")]
        row = browser.evaluate(f"[...document.querySelectorAll('tr[data-segment={name}] td.n')].map(t => t.textContent)")
        assert row == [f"{members:,}", f"{entered:,}", f"{exited:,}"]
    assert any(members >= 1000 for members, *_ in expected.values())  # a thousands separator was exercised
    # the segment that never ran says so instead of showing numbers
    assert browser.evaluate("document.querySelector('section#repeat_skus').textContent.includes('Not run yet')")


def test_the_page_has_the_charts(page):
    browser, _ = page
    charts = browser.evaluate("[...document.querySelectorAll('section.segment svg.size-chart')]"
                              ".map(s => [s.closest('section').id, s.querySelectorAll('circle').length, "
                              "s.getBoundingClientRect().width > 100])")
    assert sorted(charts) == [["high_scores", 3, True], ["pro_users", 3, True], ["recent_buyers", 3, True]]
    cells = browser.evaluate("document.querySelectorAll('svg.overlap-heatmap rect').length")
    assert cells == 9  # the three segments that ran, each against each
    hover = browser.evaluate("[...document.querySelectorAll('svg.overlap-heatmap rect title')].map(t => t.textContent)")
    assert "pro_users and pro_users: " in " ".join(hover) and "(100.0% of pro_users)" in " ".join(hover)


def test_conditions_read_as_sentences_and_refusals_replace_sql(page):
    browser, _ = page
    text = browser.evaluate("document.querySelector('section#recent_buyers ul.reading').textContent")
    assert "bought something at least once in the last 30 days" in text
    refusal = browser.evaluate("document.querySelector('section#repeat_skus .refused').textContent")
    assert "later.yml:8" in refusal and "loyalty_tier" in refusal
    assert browser.evaluate("document.querySelectorAll('details pre').length") == 3  # the compiled ones
    assert browser.evaluate("document.querySelector('details').open") is False  # folded away


@pytest.mark.parametrize("typed, expected", [
    ("commerce", ["recent_buyers", "repeat_skus"]),                 # a tag
    ("pro_us", ["pro_users"]),                                        # part of a name
    ("50 or more", ["high_scores"]),                                  # the description
    ("last 30 days", ["recent_buyers"]),                              # a sentence
    ("bought different", ["repeat_skus"]),                            # every word must occur
    ("nothing matches this", []),
])
def test_typing_in_the_search_box_hides_what_does_not_match(page, typed, expected):
    browser, _ = page
    browser.evaluate("document.getElementById('search').value = ''; "
                     "document.getElementById('search').dispatchEvent(new Event('input'))")
    assert len(_visible(browser, "tr.segment-row")) == 4
    browser.type("#search", typed)
    assert browser.evaluate("document.getElementById('search').value") == typed
    assert sorted(_visible(browser, "tr.segment-row")) == expected
    assert sorted(_visible(browser, "section.segment")) == expected
    assert browser.evaluate("document.getElementById('shown').textContent") == str(len(expected))


def test_the_screenshot_is_not_blank(page):
    browser, _ = page
    browser.evaluate("document.getElementById('search').value = ''; "
                     "document.getElementById('search').dispatchEvent(new Event('input')); "
                     "document.getElementById('pro_users').scrollIntoView()")
    inked, total = non_white_pixels(browser.screenshot())
    assert total == 1200 * 900
    assert inked / total > 0.02, f"only {inked} of {total} pixels are not white"


def test_docs_without_a_target_says_so_once(make_project, tmp_path):
    project = make_project({"s.yml": "name: s\nwhere: {attribute: plan, equals: pro}\n"})
    result = subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(project.dir), "docs",
                             "--output", str(tmp_path / "site")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "index.html").read_text()
    assert html.count("No figures") == 1 and "does not exist yet" in html
    assert "<svg" not in html and "whose plan is pro" in html
    assert not (project.dir / "segwarehouse.duckdb").exists()  # docs did not create the target
