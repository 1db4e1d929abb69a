"""PUBLISHER_ variables: blamed by name, unknown ones caught, our own non-settings allowed."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from publisher import environment
from publisher.config import Config
from tests.conftest import run_cli


def test_an_override_error_names_the_variable_not_the_file(example: Path) -> None:
    run = run_cli("check", cwd=example, env={"PUBLISHER_FEEDS__FORMATS": "rss"})
    assert run.code == 1 and "Traceback" not in run.stderr
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("error")]
    assert line.startswith("error: PUBLISHER_FEEDS__FORMATS, [feeds], field 'formats'")
    assert "config.toml" not in line and "JSON" in line
    value = run_cli("check", cwd=example, env={"PUBLISHER_RELATED__LIMIT": "lots"})
    assert "error: PUBLISHER_RELATED__LIMIT, [related], field 'limit'" in value.stderr


def test_a_variable_matching_no_setting_is_an_error_with_did_you_mean(example: Path) -> None:
    run = run_cli("build", cwd=example, env={"PUBLISHER_NEWSLETER__URL": "https://x.example/"})
    assert run.code == 1 and "Traceback" not in run.stderr
    assert "PUBLISHER_NEWSLETER__URL" in run.stderr
    assert "did you mean PUBLISHER_NEWSLETTER__URL?" in run.stderr
    assert not (example / "build").exists()


def test_our_variables_that_are_not_settings_are_allowed(example: Path) -> None:
    env = {
        "PUBLISHER_SECRET": "s" * 32, "PUBLISHER_UPDATE_GOLDEN": "0",
        "PUBLISHER_TEST_POSTGRES_URL": "postgresql://127.0.0.1/x", "PUBLISHER_SMTP_PASSWORD": "pw",
        "PUBLISHER_EMAIL__SMTP_PASSWORD": "pw", "PUBLISHER_NEWSLETTER__TITLE": "Staging Weekly",
    }  # fmt: skip
    run = run_cli("check", cwd=example, env=env)
    assert run.code == 0, run.stderr


def test_values_are_never_echoed(example: Path) -> None:
    """A typo in a secret's name must not print the secret."""
    run = run_cli("check", cwd=example, env={"PUBLISHER_SECRT": "correct-horse-battery"})
    assert run.code == 1 and "PUBLISHER_SECRT" in run.stderr
    assert "correct-horse-battery" not in run.stdout + run.stderr


class Subscribers(BaseModel):
    database: str = ""


class Extended(Config):
    """As another module adds a section: one field on Config."""

    mailing: Subscribers = Subscribers()


def test_known_names_come_from_the_model() -> None:
    env = {"PUBLISHER_MAILING__DATABASE": "sqlite:///x", "PUBLISHER_MAILING__DATABSE": "x"}
    assert [p.file for p in environment.problems(Extended, env)] == ["PUBLISHER_MAILING__DATABSE"]
    (problem,) = environment.problems(Config, {"PUBLISHER_MAILING__DATABASE": "x"})
    assert problem.file == "PUBLISHER_MAILING__DATABASE"  # unknown until the section exists
    assert environment.problems(Config, {"PUBLISHER_SUBSCRIBERS__DATABASE": "sqlite:///x"}) == []
    tables = {"PUBLISHER_RELATED__WEIGHTS__TOPIC:X": "2", "publisher_feeds__limit": "5"}
    assert environment.problems(Config, tables) == []  # keys below a table; any case
