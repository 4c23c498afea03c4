"""A real terminal: bare `census` in tmux on a demo database, a household typed with keys only,
then checked with `census progress` and `census check` as a supervisor would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import RAW_KEY

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def census(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "census", *args], env=env, capture_output=True,
                          text=True, timeout=120)


class Terminal:
    """One tmux session of 80×24."""

    def __init__(self, name: str, command: str, env: dict[str, str]) -> None:
        self.name = name
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "80", "-y", "24",
                        f"env {exports} {command}; sleep 30"], check=True)

    def screen(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                             capture_output=True, text=True)
        return out.stdout

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; screen:\n{self.screen()}")

    def keys(self, *keys: str, pause: float = 0.25) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            time.sleep(pause)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def test_type_a_household_in_a_real_terminal(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path), "TERM": "xterm-256color",
           "PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}
    made = census("demo", "--households", "60", env=env)
    assert made.returncode == 0, made.stderr
    with_pass = {**env, "CENSUS_PASSPHRASE": "demo"}
    before = {r["area"]: r for r in json.loads(census("progress", "--json", env=with_pass).stdout)}

    term = Terminal(f"census-{os.getpid()}", f"{sys.executable} -m census", env)
    try:
        term.wait_for("unlock the database")
        term.keys("demo", "Enter")
        term.wait_for("My areas")
        term.keys("Enter")
        term.wait_for("Str/Dw")
        term.keys("a")
        term.wait_for("New listing line")
        term.keys("C-s")
        term.wait_for("added")
        term.keys("Enter")
        term.wait_for("Record visit")
        term.keys("v")
        term.wait_for("Record a visit")
        term.keys("Enter")
        term.wait_for("Usual residents present")
        term.keys("Right", "Right", "Right", "2", "Down", "1", "Left", "Left", "Left", "1")
        screen = term.wait_for("4 usual residents")
        assert "✗" not in screen
        term.keys("C-d")
        term.wait_for("completed")
        term.keys("C-q")
        time.sleep(1.0)
    finally:
        term.close()

    after = {r["area"]: r for r in json.loads(census("progress", "--json", env=with_pass).stdout)}
    area = "R01-D01-EA001"
    assert after[area]["listed"] == before[area]["listed"] + 1
    assert after[area]["completed"] == before[area]["completed"] + 1
    assert after[area]["persons"] == before[area]["persons"] + 4
    checked = census("check", "--area", area, env=with_pass)
    assert checked.returncode == 0, checked.stdout
    verified = census("audit", "verify", env=with_pass)
    assert verified.returncode == 0 and "intact" in verified.stdout


GOOD = "otter quilt harbour ninety"


def new_passphrase(term: Terminal, weak: str, why: str) -> None:
    """At the new-passphrase prompt: `weak` is refused at once with `why` (before the
    confirmation), then a good one is typed twice."""
    term.wait_for("New database passphrase")
    term.keys(weak, "Enter")
    assert "Repeat for confirmation" not in term.wait_for(why)
    term.keys(GOOD, "Enter")
    term.wait_for("Repeat for confirmation")
    term.keys(GOOD, "Enter")


def test_a_weak_passphrase_is_asked_again_at_once_in_a_terminal(tmp_path: Path) -> None:
    """`census init` at a prompt: a weak passphrase is refused with the reason as soon as it is
    typed, and asked again (not after the confirmation); a good one then makes the database."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "CENSUS_LANG": "en"}
    db = tmp_path / "field.db"
    term = Terminal(f"census-init-{os.getpid()}", f"{sys.executable} -m census init --db {db}",
                    env)
    try:
        new_passphrase(term, "password1234", "too easy to guess")
        term.wait_for("Created")
    finally:
        term.close()
    assert db.exists()


def test_a_passphrase_change_at_the_prompts(tmp_path: Path) -> None:
    """`census passphrase change` in a terminal: the old passphrase once, the new one twice (a
    weak one refused at once); the database then opens with the new one only."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "CENSUS_LANG": "en"}
    db = tmp_path / "field.db"
    made = census("init", "--db", str(db), env={**env, "CENSUS_PASSPHRASE": RAW_KEY})
    assert made.returncode == 0, made.stderr
    term = Terminal(f"census-rekey-{os.getpid()}",
                    f"{sys.executable} -m census passphrase change --db {db}", env)
    try:
        term.wait_for("Database passphrase")
        term.keys(RAW_KEY, "Enter")
        new_passphrase(term, "short", "at least 12")
        term.wait_for("opens with the new passphrase only")
    finally:
        term.close()
    old = census("status", "--db", str(db), env={**env, "CENSUS_PASSPHRASE": RAW_KEY})
    new = census("status", "--db", str(db),
                 env={**env, "CENSUS_PASSPHRASE": GOOD})
    assert old.returncode == 2 and "passphrase is wrong" in old.stderr
    assert new.returncode == 0, new.stderr
