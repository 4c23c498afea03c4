"""README's "Field operation" walk-through runs verbatim: office → supervisor → enumerator and
back, with the installed `census` command, in an empty folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- walkthrough -->\n```sh\n(.*?)```", text, re.S)
    assert found, "README lost its walk-through block"
    return found.group(1)


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    script = walkthrough()
    assert "census bundle import" in script and "census receipt import" in script
    census = shutil.which("census", path=str(Path(sys.executable).parent)) or shutil.which(
        "census")
    assert census, "the census command is not installed"
    env = {**os.environ, "PATH": f"{Path(census).parent}{os.pathsep}{os.environ['PATH']}",
           "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("CENSUS_PASSPHRASE", None)
    done = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Traceback" not in out
    assert "bundle 1 from E001: added 3" in out
    assert "was already imported" in out
    assert "Deleted from this device: dwellings 2, households 1" in out
    assert "R01-D01-EA001 closed. Purged: locators 1" in out
    assert "bundle 1 from S01: added 3" in out
    # The enumerator's files: its bundle acknowledged by the receipt, the receipt and its
    # assignment imported: all three go; the others' files are not its to judge.
    assert "acknowledged by the receiver: remove it" in out
    gone = {"E001-1.bundle", "E001-1.receipt", "E001.assignment"}
    assert not any((tmp_path / "field" / name).exists() for name in gone), out
    assert (tmp_path / "field" / "S01.assignment").exists()
    assert (tmp_path / "field" / "S01-1.bundle").exists()
