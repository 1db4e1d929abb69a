"""`publisher explain` through the real CLI, on generated workspaces nobody has seen."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import tomlkit
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import html
from typer.testing import CliRunner

from publisher.cli import app
from tests.conftest import run_cli

REGIONS = ["region:north", "region:south", "region:east"]
TOPICS = [f"topic:t{n}" for n in range(12)]
SOURCES = ["alpha.example", "beta.example", "gamma.example", "delta.example"]
RELATED = {
    "limit": 3, "min_score": 0.8, "weights": {"region:*": 0.5, "topic:*": 1.5, "*": 1.0},
    "ignore": ["editors-choice"], "half_life_days": 180, "max_per_source": 1, "max_per_category": 2,
}  # fmt: skip
SECTIONS = [
    {"name": "editors-choice", "title": "Editor's choice", "scope": "archive",
     "match": {"any": ["editors-choice"]}, "order": "newest", "limit": 2, "exclude_issue_articles": True},
    {"name": "popular", "title": "Popular", "scope": "archive", "match": {"any": ["*"]},
     "order": "popular", "limit": 3, "max_age_days": 90, "exclude_issue_articles": True},
    {"name": "analysis", "title": "Analysis", "scope": "issue",
     "match": [{"categories": ["Analysis"]}, {"all": ["topic:t1", "region:*"]}], "order": "editorial"},
]  # fmt: skip


def article(rnd: random.Random, serial: int, day: date) -> dict[str, Any]:
    tags = rnd.sample(TOPICS, rnd.randint(1, 3)) + rnd.sample(REGIONS, rnd.randint(0, 1))
    if rnd.random() < 0.2:
        tags.append("editors-choice")
    return {
        "id": f"story-{serial}",
        "title": f"Story {serial}",
        "url": f"https://{rnd.choice(SOURCES)}/stories/{rnd.randint(1, 10**6)}-{serial}",
        "published": day - timedelta(days=rnd.randint(0, 10)),
        "category": rnd.choice(["News", "News", "Analysis", "Opinion"]),
        "tags": [t.upper() if rnd.random() < 0.1 else t for t in tags],  # messy case, normalised
        "summary": f"Summary of story {serial}.",
        "popularity": rnd.randint(0, 5000),
    }


def write_workspace(
    root: Path, issues: int, per_issue: int, seed: int, drafts: int = 1
) -> list[dict]:
    """A workspace of weekly issues (the last `drafts` are drafts); returns the issue data."""
    rnd, serial, written = random.Random(seed), 0, []
    (root / "issues").mkdir(parents=True, exist_ok=True)
    config = {"newsletter": {"title": "Generated", "url": "https://gen.example/"},
              "sections": SECTIONS, "related": RELATED}  # fmt: skip
    (root / "config.toml").write_text(tomlkit.dumps(config))
    day = date(2023, 1, 6)
    for n in range(issues):
        day += timedelta(days=7)
        articles = []
        for _ in range(per_issue):
            serial += 1
            articles.append(article(rnd, serial, day))
        status = "draft" if n >= issues - drafts else "published"
        data = {"title": f"Issue {n + 1}", "date": day, "status": status, "articles": articles}
        if n and rnd.random() < 0.3:
            data["pin"] = {"popular": [written[-1]["articles"][0]["id"]]}
        written.append({"id": f"{day:%Y}-{n + 1:03d}", **data})
        (root / "issues" / f"{written[-1]['id']}.toml").write_text(tomlkit.dumps(data))
    return written


def check_explanation(out: dict[str, Any], issues: list[dict], issue_id: str) -> None:
    """Never a later or the same issue; limits, caps, order and shared tags hold."""
    order = [i["id"] for i in issues]
    where = {a["id"]: i for i in issues for a in i["articles"]}
    tags = {a["id"]: {t.lower() for t in a["tags"]} for i in issues for a in i["articles"]}
    me = issues[order.index(issue_id)]
    assert out["issue"] == issue_id
    assert set(out["related"]) == {a["id"] for a in me["articles"]}
    for article_id, picks in out["related"].items():
        assert len(picks) <= RELATED["limit"]
        assert [p["score"] for p in picks] == sorted((p["score"] for p in picks), reverse=True)
        for pick in picks:
            other = where[pick["id"]]
            assert other["status"] == "published" and order.index(other["id"]) < order.index(
                issue_id
            )
            assert (
                pick["shared_tags"]
                and set(pick["shared_tags"]) <= tags[article_id] & tags[pick["id"]]
            )
            assert "editors-choice" not in pick["shared_tags"]
        ids = [p["id"] for p in picks]
        assert len(ids) == len(set(ids))
        for miss in out["near_misses"][article_id]:
            assert miss["id"] not in ids and miss["reason"]
            if miss["reason"].startswith("outranked"):
                assert len(picks) == RELATED["limit"] and miss["score"] <= picks[-1]["score"]
            if miss["reason"] == "in the same issue":
                assert where[miss["id"]]["id"] == issue_id
    for section, rule in zip(out["sections"], SECTIONS, strict=True):
        assert section["name"] == rule["name"] and section["title"] == rule["title"]
        assert len(section["articles"]) <= rule.get("limit", 3)
        for pick in section["articles"]:
            other = where[pick]
            assert other["id"] == issue_id or (
                other["status"] == "published" and order.index(other["id"]) < order.index(issue_id)
            )


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10**6), st.integers(2, 9), st.integers(1, 6))
@example(175782, 9, 4)  # a near-miss tied with a pick once got the wrong reason
def test_explain_json_keeps_every_rule(seed: int, issues: int, per_issue: int) -> None:
    """In-process runs of the real command over many generated archives."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        written = write_workspace(Path(tmp), issues, per_issue, seed)
        runner = CliRunner()
        for issue in written:
            result = runner.invoke(app, ["explain", issue["id"], "--json", "--root", tmp])
            assert result.exit_code == 0, result.output
            check_explanation(json.loads(result.stdout), written, issue["id"])


def test_explain_subprocess_is_deterministic_and_matches_the_build(tmp_path: Path) -> None:
    written = write_workspace(tmp_path, issues=12, per_issue=5, seed=7)
    last = written[-2]["id"]  # the last published issue
    runs = [run_cli("explain", last, "--json", cwd=tmp_path) for _ in range(2)]
    assert runs[0].code == 0, runs[0].stderr
    assert runs[0].stdout == runs[1].stdout, "explain must be deterministic across runs"
    out = json.loads(runs[0].stdout)
    check_explanation(out, written, last)
    assert any(out["related"].values()) and any(s["articles"] for s in out["sections"])
    build = run_cli("build", cwd=tmp_path)
    assert build.code == 0, build.stderr
    urls = {a["id"]: a["url"] for i in written for a in i["articles"]}
    for page in ("index.html", "email.html"):
        tree = html.parse(str(tmp_path / "build" / "issues" / last / page))
        links = " ".join(tree.xpath("//a/@href"))
        text = " ".join(tree.xpath("//text()"))
        for section in out["sections"]:
            assert not section["articles"] or section["title"] in text
            assert all(urls[i] in links for i in section["articles"]), (page, section)
        assert all(urls[p["id"]] in links for picks in out["related"].values() for p in picks)


def test_explain_human_output_and_one_article(tmp_path: Path) -> None:
    written = write_workspace(tmp_path, issues=8, per_issue=4, seed=11)
    issue = written[-2]
    first = issue["articles"][0]["id"]
    run = run_cli("explain", issue["id"], first, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert f"Related to '{first}'" in run.stdout and "Section 'popular'" in run.stdout
    assert "x decay" in run.stdout or ": 0 picks" in run.stdout
    assert run.stdout.count("Related to ") == 1
    one = json.loads(run_cli("explain", issue["id"], first, "--json", cwd=tmp_path).stdout)
    assert list(one["related"]) == [first]
    missing = run_cli("explain", issue["id"], "no-such-story", cwd=tmp_path)
    assert missing.code == 2 and f"issues/{issue['id']}.toml" in missing.stderr
    assert not (tmp_path / "build").exists(), "explain writes nothing"


def story(n: int, tags: list[str], host: str = "alpha.example", day: int = 1) -> dict[str, Any]:
    return {"id": f"s{n}", "title": f"S{n}", "url": f"https://{host}/{n}",
            "published": date(2024, 3, day), "tags": tags}  # fmt: skip


def test_explain_names_why_each_near_miss_lost(tmp_path: Path) -> None:
    """Each kind of loser, with its reason: threshold, cap, same issue, later issue."""
    related = {"limit": 2, "min_score": 1.0, "idf": False, "half_life_days": 0, "max_per_source": 1,
               "max_tag_share": 1.0, "weights": {"b": 0.5, "*": 1.0}}  # fmt: skip
    config = {"newsletter": {"title": "T", "url": "https://t.example/"}, "related": related}
    (tmp_path / "issues").mkdir()
    (tmp_path / "config.toml").write_text(tomlkit.dumps(config))
    issues = {
        "2024-01": ("published", 1, [story(1, ["a", "b"]), story(2, ["a", "b"]),
                                      story(3, ["a", "b"], "beta.example"), story(4, ["zz"]),
                                      story(8, ["b"])]),
        "2024-02": ("published", 8, [story(5, ["a", "b"]), story(6, ["a", "b", "c"])]),
        "2024-03": ("draft", 15, [story(7, ["a", "b", "c"])]),
    }  # fmt: skip
    for issue_id, (status, day, articles) in issues.items():
        data = {
            "title": issue_id,
            "date": date(2024, 3, day),
            "status": status,
            "articles": articles,
        }
        (tmp_path / "issues" / f"{issue_id}.toml").write_text(tomlkit.dumps(data))
    run = run_cli("explain", "2024-02", "s5", "--json", "--misses", "9", cwd=tmp_path)
    assert run.code == 0, run.stderr
    out = json.loads(run.stdout)
    assert [p["id"] for p in out["related"]["s5"]] == ["s1", "s3"]  # then s2, same source as s1
    reasons = {m["id"]: m["reason"] for m in out["near_misses"]["s5"]}
    assert reasons["s2"].startswith("max_per_source = 1")
    assert reasons["s6"] == "in the same issue"
    assert reasons["s7"] == "from a later issue (2024-03)"
    assert "s4" not in reasons  # shares nothing
    assert reasons["s8"] == "below min_score (0.500 < 1)"
    assert all(p["score"] == 1.5 and p["decay"] == 1.0 for p in out["related"]["s5"])
    assert all(p["contributions"] == {"a": 1.0, "b": 0.5} for p in out["related"]["s5"])
