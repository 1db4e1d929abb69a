"""Bad input, as a careless user or an adversary writes it: every case is a real CLI run
that ends in a message naming the file (or the variable) and the field, a non-zero exit,
no traceback and no internal error, with the workspace and the previous build untouched.

The table is built per class (every text setting x invisible characters, every number x
overflow and infinity, every section x a wrong type, every section x a bad environment
value, records, templates), not per reported example. Runs go four at a time.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from tests.conftest import Run, copy_example, run_cli, tree_bytes

DRAFT = "issues/2024-17.toml"
Edit = Callable[[Path], None]


@dataclass
class Case:
    name: str
    edit: Edit
    blame: str  # the file or variable the message must name
    field: str = ""  # the field it must name ("" when the problem is the whole file or name)
    # `check` runs the loading and checks `build` runs; build/ is compared after every run.
    commands: tuple[tuple[str, ...], ...] = (("check",),)
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    also: str = ""  # a further phrase the message must hold


def set_config(section: str, key: str, value: Any) -> Edit:
    def edit(root: Path) -> None:
        doc = tomlkit.parse((root / "config.toml").read_text())
        table = doc["sections"][0] if section == "sections" else doc.setdefault(section, {})
        table[key] = value
        (root / "config.toml").write_text(tomlkit.dumps(doc))

    return edit


def set_issue(key: str, value: Any, article: int | None = None, sub: str = "") -> Edit:
    def edit(root: Path) -> None:
        path = root / DRAFT
        doc = tomlkit.parse(path.read_text())
        table = doc if article is None else doc["articles"][article]
        if sub:
            table = table[sub]
        table[key] = value
        path.write_text(tomlkit.dumps(doc))

    return edit


def write_template(name: str, data: bytes) -> Edit:
    def edit(root: Path) -> None:
        (root / "templates").mkdir(exist_ok=True)
        (root / "templates" / name).write_bytes(data)

    return edit


def nothing(root: Path) -> None:
    """The files stay as they are: the case is in the environment."""


EVERYWHERE = (("check",), ("build",), ("explain", "2024-16"))
ODD = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\u202a", "\u202e",
       "\u2066", "\u2069", "\x0b", "\x0c"]  # fmt: skip
TEXT_SETTINGS = {
    "newsletter": ["title", "description", "author", "language", "timezone", "url", "author_email",
                   "logo"],
    "email": ["from", "sender_name", "reply_to", "to", "subject", "unsubscribe_mailto",
              "unsubscribe_url", "list_id", "contact", "smtp_host", "smtp_user"],
    "feeds": ["content", "id_domain", "hub"],
    "build": ["output", "templates"],
    "sections": ["name", "title", "scope", "order"],
}  # fmt: skip
EXAMPLE_TEXT = {"url": "https://weekly.example.org/", "logo": "https://weekly.example.org/l.png",
                "unsubscribe_url": "https://weekly.example.org/u", "hub": "https://hub.example.org/",
                "author_email": "ed@example.org", "from": "news@example.org", "reply_to": "r@example.org",
                "to": "s@example.org", "unsubscribe_mailto": "u@example.org", "language": "en",
                "timezone": "Europe/Brussels", "scope": "archive", "order": "newest",
                "content": "full", "id_domain": "weekly.example.org", "name": "picks"}  # fmt: skip


def text_cases() -> list[Case]:
    """Every text setting with an invisible character inside (rotating through ODD)."""
    cases, n = [], 0
    for section, keys in TEXT_SETTINGS.items():
        for key in keys:
            for _ in range(1):
                char, n = ODD[n % len(ODD)], n + 1
                base = EXAMPLE_TEXT.get(key, "Some text")
                value = base[:3] + char + base[3:]
                cases.append(Case(f"{section}.{key}+U+{ord(char):04X}", set_config(section, key, value),
                                  "config.toml", key))  # fmt: skip
    return cases


INF, NAN = math.inf, math.nan
BIG = 2**63 - 1  # the largest TOML integer
NUMBERS: list[tuple[str, str, Any]] = [
    ("related", "limit", -1), ("related", "limit", BIG), ("related", "limit", 2.5),
    ("related", "min_score", INF), ("related", "min_score", NAN), ("related", "min_score", -0.5),
    ("related", "min_score", 1e308), ("related", "half_life_days", INF),
    ("related", "half_life_days", 1e308), ("related", "half_life_days", 1e-320),
    ("related", "half_life_days", -1), ("related", "max_tag_share", 0),
    ("related", "max_tag_share", NAN), ("related", "max_per_source", 0),
    ("related", "max_per_category", BIG), ("related", "weights", {"*": INF}),
    ("related", "weights", {"*": 1e308}), ("related", "weights", {"country:*": NAN}),
    ("related", "weights", {"x": -1}), ("related", "weights", {"x": "2"}),
    ("feeds", "limit", 0), ("feeds", "limit", BIG), ("feeds", "archive_size", -5),
    ("feeds", "archive_size", BIG), ("email", "max_bytes", 0), ("email", "max_bytes", BIG),
    ("email", "smtp_port", 70000), ("email", "smtp_port", INF),
    ("sections", "limit", BIG), ("sections", "limit", -2), ("sections", "max_age_days", 1000000),
    ("sections", "max_age_days", BIG), ("sections", "max_age_days", -1),
]  # fmt: skip
TYPES: list[tuple[str, str, Any]] = [
    ("newsletter", "title", 123), ("newsletter", "title", ""), ("newsletter", "url", ["x"]),
    ("newsletter", "url", "http://plain.example.org/"), ("newsletter", "timezone", "Mars/Olympus"),
    ("newsletter", "timezone", "../../etc/passwd"), ("newsletter", "timezone", "/etc/localtime"),
    ("newsletter", "language", "english please"), ("newsletter", "author_email", "not an address"),
    ("email", "from", "a@b.c>, victim@example.com, <x@y.z"), ("email", "from", ""),
    ("email", "from", "not an address"), ("email", "from", "Name <news@example.org>"),
    ("email", "reply_to", "a@example.org, b@example.org"), ("email", "to", "@example.org"),
    ("email", "unsubscribe_mailto", "u@x.example>, <javascript:alert(1)"),
    ("email", "unsubscribe_url", "javascript:alert(1)"),
    ("email", "unsubscribe_url", "http://weekly.example.org/u"), ("email", "utm", "x"),
    ("email", "utm", {"bad key": "x"}), ("email", "subject", 7), ("feeds", "formats", "rss"),
    ("feeds", "formats", ["gopher"]), ("feeds", "tags", "region"), ("feeds", "articles", 5),
    ("feeds", "content", "everything"), ("feeds", "id_domain", "Not A Host"),
    ("related", "ignore", "x"), ("related", "idf", 5), ("related", "weights", "x"),
    ("sections", "match", "x"), ("sections", "scope", "galaxy"), ("sections", "order", 3),
    ("sections", "name", "Not A Slug"), ("build", "output", 1), ("build", "templates", []),
    ("newsletter", "colour", "blue"), ("email", "smtp_password", "hunter2"),
]  # fmt: skip


def value_cases() -> list[Case]:
    table = NUMBERS + TYPES
    return [Case(f"{s}.{k}={v!r}"[:60], set_config(s, k, v), "config.toml", k) for s, k, v in table]


ENV: list[tuple[str, str, str]] = [
    # (variable, value, field it names)
    ("PUBLISHER_FEEDS__FORMATS", "rss", "formats"), ("PUBLISHER_FEEDS__TAGS", "a,b", "tags"),
    ("PUBLISHER_RELATED__WEIGHTS", "x=1", "weights"), ("PUBLISHER_RELATED__IGNORE", "x", "ignore"),
    ("PUBLISHER_EMAIL__UTM", "utm_source=x", "utm"), ("PUBLISHER_RELATED__LIMIT", "abc", "limit"),
    ("PUBLISHER_RELATED__LIMIT", "1" + "0" * 40, "limit"),
    ("PUBLISHER_RELATED__MIN_SCORE", "inf", "min_score"),
    ("PUBLISHER_RELATED__HALF_LIFE_DAYS", "nan", "half_life_days"),
    ("PUBLISHER_NEWSLETTER__TIMEZONE", "Mars/Olympus", "timezone"),
    ("PUBLISHER_NEWSLETTER__URL", "http://x", "url"),
    ("PUBLISHER_EMAIL__FROM", "a@b.c>, victim@example.com", "from"),
    ("PUBLISHER_EMAIL__TO", "x\u2028Bcc: victim@example.com", "to"),
    ("PUBLISHER_NEWSLETTER__TITLE", "Weekly\x07", "title"), ("PUBLISHER_FEEDS__LIMIT", "-3", "limit"),
    ("PUBLISHER_SECTIONS__0__LIMIT", "x", ""),
]  # fmt: skip
SECTIONS = ["newsletter", "email", "feeds", "related", "build", "sections"]
UNKNOWN = [("PUBLISHER_NEWSLETER__URL", "PUBLISHER_NEWSLETTER__URL"),
           ("PUBLISHER_EMAIL__FORM", "PUBLISHER_EMAIL__FROM"),
           ("PUBLISHER_RELATED__LIMT", "PUBLISHER_RELATED__LIMIT"), ("PUBLISHER_FEED", "PUBLISHER_FEEDS"),
           ("PUBLISHER_NOTHING_LIKE_IT", "")]  # fmt: skip


def env_cases() -> list[Case]:
    cases = [Case(f"{n}={v!r}"[:60], nothing, n, f, env={n: v}) for n, v, f in ENV]
    for case in cases[:3]:
        case.commands = EVERYWHERE
    for name, value in (("PUBLISHER_BUILD__OUTPUT", "/proc/nope"), ("PUBLISHER_BUILD__OUTPUT", ".")):
        cases.append(Case(f"{name}={value}", nothing, name, env={name: value}, commands=(("build",),)))
    for n, section in enumerate(SECTIONS):
        value = ("oops", "{x", "[1, 2")[n % 3]
        name = f"PUBLISHER_{section.upper()}"
        cases.append(Case(f"{name}={value}", nothing, name, env={name: value}))
    for name, close in UNKNOWN:
        also = f"did you mean {close}?" if close else "is not a setting"
        cases.append(Case(name, nothing, name, env={name: "x"}, also=also))
    return cases


def record_cases() -> list[Case]:
    """The draft's fields: dates out of range, URLs, types, slugs, unknown keys."""
    table: list[tuple[str, Any, int | None, str, str]] = [
        ("date", tomlkit.date("0001-01-01"), None, "", "date"),
        ("date", tomlkit.date("9999-12-31"), None, "", "date"),
        ("date", "next friday", None, "", "date"), ("date", 20240426, None, "", "date"),
        ("updated", tomlkit.date("0001-01-01"), None, "", "updated"),
        ("status", "sent", None, "", "status"), ("number", -1, None, "", "number"),
        ("number", 0, None, "", "number"), ("title", "", None, "", "title"),
        ("title", ["a"], None, "", "title"), ("pin", {"popular": ["Not A Slug"]}, None, "", "pin"),
        ("exclude", "x", None, "", "exclude"), ("colour", "blue", None, "", "colour"),
        ("published", tomlkit.date("0001-01-01"), 0, "", "published"),
        ("published", "2024-13-45", 0, "", "published"),
        ("url", "https://example.org/\u0001x", 0, "", "url"),
        ("url", "https://example.org/\u202ex", 0, "", "url"),
        ("url", "javascript:alert(1)", 0, "", "url"), ("url", "https://exa mple.org/", 0, "", "url"),
        ("url", "", 0, "", "url"), ("id", "Bad Id", 0, "", "id"), ("tags", "x", 0, "", "tags"),
        ("tags", [1, 2], 0, "", "tags"), ("popularity", -1, 0, "", "popularity"),
        ("popularity", "many", 0, "", "popularity"), ("title", "", 1, "", "title"),
        ("width", -5, 0, "image", "image.width"), ("width", 0, 0, "image", "image.width"),
        ("url", "ftp://example.org/a.png", 0, "image", "image.url"),
        ("url", "https://example.org/\x00.png", 0, "image", "image.url"),
    ]  # fmt: skip
    return [
        Case(f"{DRAFT}:{field_}={value!r}"[:60], set_issue(key, value, article, sub), DRAFT, field_)
        for key, value, article, sub, field_ in table
    ]


TEMPLATES: list[tuple[str, bytes, str]] = [
    ("article.html", b"x\n{% include 'article.html' %}\n", "includes or extends itself"),
    ("email.html", b"{% include 'a.html' %}", ""),
    ("article.html", b"caf\xe9 {{ view }}\n", "not UTF-8"),
    ("email.css", b"a { color: red }\xff\n", "not UTF-8"),
    ("email.txt", b"{{ 1 + }}", "template error"),
    ("email.txt", b"{% include 'nope.txt' %}", "does not exist"),
    ("article.html", b"\n\n{{ nosuch.thing }}\n", "'nosuch' is undefined"),
    ("index.html", b"<p>{{ nope }}</p>", "'nope' is undefined"),
]


def template_cases() -> list[Case]:
    cases = [Case(f"templates/{n}: {also or 'cycle'}", write_template(n, data), f"templates/{n}",
                  also=also, commands=(("check",), ("build",)) if n != "index.html" else (("build",),))
             for n, data, also in TEMPLATES]  # fmt: skip
    cases[1].edit = lambda root: (write_template("email.html", b"{% include 'a.html' %}")(root),
                                  write_template("a.html", b"{% include 'email.html' %}")(root))  # fmt: skip
    cases[1].blame = "templates/a.html"
    cases[-2].blame = "templates/article.html:3"  # the template's own line
    return cases




def write_file(name: str, data: bytes) -> Edit:
    def edit(root: Path) -> None:
        if data == b"/":
            (root / name).mkdir()
        else:
            (root / name).write_bytes(data)

    return edit


NEW = "issues/2024-18.toml"
FILES: list[tuple[str, bytes, str]] = [
    (NEW, b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
    (NEW, b"title = 'caf\xe9'\ndate = 2024-05-03\n", "cannot read"),
    (NEW, b"/", "cannot read"), (NEW, b"title = 'x'\ndate = 2024-05-03\narticles = [1, 'a']\n", ""),
    (NEW, b"title = 'x'\ndate = 2024-05-03\nnumber = 99999999999999999999999\n", "number"),
    (NEW, b"title = 'x\ndate = 2024-05-03\n", "malformed TOML"),
    ("issues/.published.toml", b"[2024-11\n", "malformed TOML"),
    ("issues/.published.toml", b"[2024-11]\nnumber = 'x'\n", "not a valid entry"),
    ("issues/.published.toml", b"[2030-01]\nnumber = 9\ndate = 2030-01-04\ncontent_hash = 'x'\n",
     "the file is gone"),
]  # fmt: skip


def file_cases() -> list[Case]:
    cases = [Case(f"{n}: {also or 'not an issue'}", write_file(n, data), n, also=also)
             for n, data, also in FILES]  # fmt: skip
    cases[-1].blame = "issues/2030-01.toml"  # the registry says it went out; its file is gone
    cases.append(Case("config nested", lambda root: (root / "config.toml").write_text(
        (root / "config.toml").read_text() + "\nx = " + "{a=" * 3000 + "1" + "}" * 3000 + "\n"),
        "config.toml", also="nested too deeply"))  # fmt: skip
    return cases


def named_cases() -> list[Case]:
    """The examples issue 9 names, through check, build and explain."""
    return [
        Case("date0001", set_issue("date", tomlkit.date("0001-01-01")), DRAFT, "date", EVERYWHERE),
        Case("max_age", set_config("sections", "max_age_days", 1000000), "config.toml",
             "max_age_days", EVERYWHERE),
        Case("half_life_inf", set_config("related", "half_life_days", INF), "config.toml",
             "half_life_days", EVERYWHERE),
        Case("weight_inf", set_config("related", "weights", {"country:*": INF}), "config.toml",
             "weights.country:*", EVERYWHERE),
        Case("weight_nan", set_config("related", "weights", {"country:*": NAN}), "config.toml",
             "weights.country:*", EVERYWHERE),
        Case("weight_big", set_config("related", "weights", {"country:*": 1e308}), "config.toml",
             "weights.country:*", EVERYWHERE),
    ]  # fmt: skip


ALL_CASES = (named_cases() + text_cases() + value_cases() + env_cases() + record_cases()
             + template_cases() + file_cases())  # fmt: skip


@pytest.fixture(scope="module")
def built_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with a good build in build/: every case starts from a copy of it."""
    root = copy_example(tmp_path_factory.mktemp("adversarial") / "ws")
    run = run_cli("build", cwd=root)
    assert run.code == 0, run.stderr
    return root


def judge(case: Case, base: Path, scratch: Path) -> list[str]:
    """Run the case's commands on a fresh copy; the reasons it fails, if any."""
    root = shutil.copytree(base, scratch / "ws", symlinks=True)  # build/ is a relative link
    case.edit(root)
    before = tree_bytes(root)
    failures = []
    for command in case.commands:
        run: Run = run_cli(*command, cwd=root, env=case.env)
        output = run.stdout + run.stderr
        label = f"{case.name} [{' '.join(command)}]"
        if "Traceback" in output or "internal error" in output:
            failures.append(f"{label}: {output.strip().splitlines()[-1][:200]}")
        elif run.code not in (1, 2):
            failures.append(f"{label}: exit {run.code}, expected 1 or 2: {output[-200:]}")
        elif not any(_names(line, case) for line in run.stderr.splitlines()):
            failures.append(f"{label}: no line names {case.blame} / {case.field!r} / {case.also!r}:"
                            f" {run.stderr[:300]}")  # fmt: skip
        if tree_bytes(root) != before:
            failures.append(f"{label}: the workspace or build/ changed")
    return failures


def _names(line: str, case: Case) -> bool:
    if not line.startswith("error: ") or case.blame not in line:
        return False
    if case.field and f"field '{case.field}'" not in line and f"field '{case.field}." not in line:
        return False
    return case.also in line


def test_the_table_covers_every_class() -> None:
    assert len(ALL_CASES) >= 140
    blamed = {c.blame for c in ALL_CASES}
    assert {"config.toml", DRAFT, "PUBLISHER_FEEDS__FORMATS", "templates/email.css"} <= blamed


def test_no_bad_input_gets_a_traceback(built_example: Path, tmp_path: Path) -> None:
    """Every case: exit 1 or 2, an error line naming the file or variable and the field,
    no traceback, no internal error, nothing changed under the workspace (build/ included)."""
    with ThreadPoolExecutor(4) as pool:
        results = pool.map(
            lambda n: judge(ALL_CASES[n], built_example, tmp_path / str(n)), range(len(ALL_CASES))
        )
        failures = [f for found in results for f in found]
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
