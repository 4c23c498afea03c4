"""Sealed files after use (issue 14): the importing commands remove a file once it is imported
(`--remove`), `census files` finds the files a database wrote or read wherever they are (by
their bytes) and says whether their purpose is over, and the receiver's next file
acknowledges what it took."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from census.domain.model import Role
from census.transfer import files as transfer_files
from tests.usecases import fieldwork as fw
from tests.usecases.fieldwork import EA1, census


def listed(db: Path, *places: Path) -> dict[str, dict[str, object]]:
    """`census files --json` at `db`: each file found, by name."""
    done = census("files", "--db", db, "--json", *places)
    assert done.exit_code == 0, done.output
    return {Path(f["file"]).name: f for f in json.loads(done.output)["files"]}


@pytest.fixture()
def field(tmp_path: Path) -> tuple[fw.Site, fw.Site]:
    sup = fw.site(tmp_path, Role.SUPERVISOR, "S001", register=True)
    enum = fw.site(tmp_path, Role.ENUMERATOR, "E001")
    fw.assign(sup, enum, [EA1])
    fw.enter(enum, EA1, range(1, 4))
    yield sup, enum
    sup.store.close()
    enum.store.close()


def test_a_file_goes_from_waiting_to_acknowledged_and_then_away(
        field: tuple[fw.Site, fw.Site], tmp_path: Path) -> None:
    sup, enum = field
    bundle = fw.bundle(enum)
    stick = tmp_path / "usb"
    stick.mkdir()
    on_stick = stick / "for-supervisor.census"
    shutil.copyfile(bundle, on_stick)
    # The enumerator's view: its bundle (and the copy on the stick: the same bytes) waits for
    # the supervisor's acknowledgement; the assignment it imported is done.
    seen = listed(enum.store.path, enum.folder, stick, sup.folder)
    assert seen[bundle.name]["state"] == "waiting" and not seen[bundle.name]["done"]
    assert seen[on_stick.name]["state"] == "waiting"
    assert seen[bundle.name]["sender"] == "E001" and seen[bundle.name]["receiver"] == "S001"
    assert seen[bundle.name]["holds"] == "dwellings 3, households 3"
    assignment = sup.files[0].name
    assert seen[assignment]["state"] == "imported" and seen[assignment]["done"]

    # The supervisor imports the stick's copy and removes it.
    done = census("bundle", "import", on_stick, "--db", sup.store.path, "--remove")
    assert done.exit_code == 0, done.output
    assert "removed" in done.output and not on_stick.exists()
    assert sup.store.conn.execute("SELECT count(*) FROM household").fetchone()[0] == 3

    # Its receipt acknowledges the bundle; once the enumerator imports it, the bundle is done.
    receipt = stick / "receipt.census"
    done = census("receipt", "export", "--enumerator", "E001", "--out", receipt,
                  "--db", sup.store.path)
    assert done.exit_code == 0, done.output
    assert listed(sup.store.path, stick)[receipt.name]["state"] == "waiting"
    done = census("receipt", "import", receipt, "--db", enum.store.path)
    assert done.exit_code == 0, done.output
    seen = listed(enum.store.path, enum.folder, stick)
    assert seen[bundle.name]["state"] == "acknowledged" and seen[bundle.name]["done"]
    assert seen[receipt.name]["state"] == "imported"

    # --remove-done takes away what is done, and nothing else.
    other = stick / "someone-elses.census"
    other.write_bytes(bundle.read_bytes()[:40] + b"x" * 10)  # a sealed file it cannot place
    done = census("files", "--db", enum.store.path, "--remove-done", enum.folder, stick)
    assert done.exit_code == 0, done.output
    assert not bundle.exists() and not receipt.exists()
    assert other.exists()
    assert "removed" in done.output


def test_the_next_bundle_acknowledges_the_supervisors_files(
        field: tuple[fw.Site, fw.Site]) -> None:
    """Both ways: the enumerator's next bundle acknowledges the assignment it took."""
    sup, enum = field
    assignment = sup.files[0]
    assert listed(sup.store.path, sup.folder)[assignment.name]["state"] == "waiting"
    fw.bundle(enum, sup)
    assert listed(sup.store.path, sup.folder)[assignment.name]["state"] == "acknowledged"


def test_a_refused_file_is_kept_with_remove(field: tuple[fw.Site, fw.Site],
                                            tmp_path: Path) -> None:
    sup, enum = field
    bundle = fw.bundle(enum)
    data = bytearray(bundle.read_bytes())
    data[-1] ^= 1
    bad = tmp_path / "damaged.census"
    bad.write_bytes(bytes(data))
    done = census("bundle", "import", bad, "--db", sup.store.path, "--remove")
    assert done.exit_code == 2 and "Refused" in done.output, done.output
    assert bad.exists()
    done = census("assignment", "import", bad, "--db", enum.store.path, "--remove")
    assert done.exit_code == 2 and bad.exists(), done.output


def test_a_file_imported_before_is_removed_too(field: tuple[fw.Site, fw.Site],
                                               tmp_path: Path) -> None:
    """A second copy of a file already imported holds nothing the database lacks."""
    sup, enum = field
    bundle = fw.bundle(enum, sup)
    copy = tmp_path / "copy.census"
    shutil.copyfile(bundle, copy)
    done = census("bundle", "import", copy, "--db", sup.store.path, "--remove", "--json")
    assert done.exit_code == 0, done.output
    item = json.loads(done.output)["files"][0]
    assert item["removed"] and item["already_imported_at"]
    assert not copy.exists()


def test_closing_an_area_points_at_the_files_still_on_disk(
        field: tuple[fw.Site, fw.Site], monkeypatch: pytest.MonkeyPatch) -> None:
    sup, enum = field
    fw.bundle(enum, sup)
    monkeypatch.chdir(sup.folder)
    for hid in [r[0] for r in sup.store.conn.execute("SELECT id FROM household")]:
        assert census("review", "approve", hid, "--db", sup.store.path).exit_code == 0
    done = census("area", "close", EA1, "--db", sup.store.path)
    assert done.exit_code == 0, done.output
    assert "still on disk" in done.output and "census files" in done.output


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_remove_never_goes_through_a_symbolic_link(field: tuple[fw.Site, fw.Site],
                                                   tmp_path: Path) -> None:
    """As found: `--remove` on a link zeroed the file it pointed to and deleted the link.
    Now the link is refused with a warning, the target is untouched, and the import stands."""
    sup, enum = field
    bundle = fw.bundle(enum)
    before = bundle.read_bytes()
    link = tmp_path / "link.census"
    link.symlink_to(bundle)
    done = census("bundle", "import", link, "--db", sup.store.path, "--remove")
    assert done.exit_code == 0, done.output
    assert "bundle 1 from E001: added 6" in done.output
    assert "Warning:" in done.output and "remove it by hand" in done.output
    assert bundle.read_bytes() == before and link.is_symlink()


def test_a_failed_removal_does_not_hide_the_import_or_stop_the_others(
        field: tuple[fw.Site, fw.Site], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As found: a stick that cannot be written made `bundle import --remove` print only the
    removal error: the import's report was lost and the next files were not imported."""
    sup, enum = field
    first = fw.bundle(enum)
    fw.enter(enum, EA1, range(10, 12))
    second = fw.bundle(enum)

    def read_only(path: Path, accept: object = None) -> bool:
        raise OSError(30, "Read-only file system", str(path))

    monkeypatch.setattr("census.usecases.files.wipe", read_only)
    done = census("bundle", "import", first, second, "--db", sup.store.path, "--remove",
                  "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert [f["added"] for f in report["files"]] == [6, 4]
    assert all(not f["removed"] and "Read-only" in f["not_removed"] for f in report["files"])
    assert first.exists() and second.exists()


def test_a_large_folder_says_it_was_not_searched_to_the_end(
        field: tuple[fw.Site, fw.Site], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As found: past 20,000 files the search stopped, for every place after it too, and
    said "No census sealed files"."""
    _sup, enum = field
    bundle = fw.bundle(enum)
    big = tmp_path / "home"
    big.mkdir()
    for i in range(6):
        (big / f"note{i}.txt").write_text("x")
    monkeypatch.setattr(transfer_files, "SEARCH_FILES", 5)
    done = census("files", "--db", enum.store.path, big, enum.folder)
    assert done.exit_code == 0, done.output
    assert f"{big} holds more than 5 files" in done.output
    assert bundle.name in done.output  # the next place was still searched


def test_closing_an_area_from_a_removed_folder_still_reports(
        field: tuple[fw.Site, fw.Site], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As found: run from a folder that was deleted, `area close` closed the area, then
    failed with "No such file or directory" and never said so."""
    sup, enum = field
    fw.bundle(enum, sup)
    for hid in [r[0] for r in sup.store.conn.execute("SELECT id FROM household")]:
        assert census("review", "approve", hid, "--db", sup.store.path).exit_code == 0
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    done = census("area", "close", EA1, "--db", sup.store.path)
    assert done.exit_code == 0, done.output
    assert f"{EA1} closed" in done.output
