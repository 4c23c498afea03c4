"""Untrusted ptable files: whatever the bytes, reading one either gives a table or raises
ValueError with a message (the CLI and the export turn that into a clear refusal); nothing
else escapes, and the message fits on a line and quotes nothing raw. And a table that is read
is complete and within the limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from census.cli import cli
from census.privacy.ptable.generate import generate
from census.privacy.ptable.ons_csv import read_ons_csv, write_ons_csv
from census.privacy.ptable.table import PVALUE_LIMIT, publication_problem
from tests.hardening.tally import count

SMALL = write_ons_csv(generate(5, 3.0, 2, max_pcv=12, ckey_range=8))
LINES = SMALL.splitlines()


def read(text: str) -> object:
    try:
        table = read_ons_csv(text)
    except ValueError as exc:
        assert str(exc)  # a message, never an empty one
        assert len(str(exc)) <= 600 and str(exc).isprintable(), str(exc)[:1000]
        return None
    assert len(table.rows) == table.max_pcv * table.ckey_range
    assert all(abs(v) <= PVALUE_LIMIT for v in table.rows.values())
    assert publication_problem(table, 2) is None or isinstance(
        publication_problem(table, 2), str)
    return table


@settings(max_examples=300)
@given(st.text(max_size=400))
def test_any_text(text: str) -> None:
    """Any text as a ptable: a complete table within the limits, or ValueError with a short,
    printable message."""
    count("fuzz: ptable CSV", 1)
    read(text)


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_any_bytes_decoded_leniently(data: bytes) -> None:
    """Any bytes, decoded as the CLI would at worst: a table or a short, printable message."""
    count("fuzz: ptable CSV", 1)
    read(data.decode("utf-8", errors="replace"))


MUTATIONS = st.lists(st.tuples(st.integers(0, len(LINES) - 1),
                               st.sampled_from(["drop", "dup", "swap", "edit"]),
                               st.one_of(st.text(alphabet="0123456789-,x \"", max_size=12),
                                         st.sampled_from(["1_0", "١", "+3", "9" * 5000,
                                                          "\x1b[2J", "x" * 200_000]))),
                     min_size=1, max_size=6)


@settings(max_examples=300)
@given(MUTATIONS)
def test_mutations_of_a_valid_table(edits: list[tuple[int, str, str]]) -> None:
    """A valid table with rows dropped, doubled, swapped or replaced (digits, signs, commas,
    quotes, "1_0", other scripts' digits, thousands of digits, escapes, huge fields): a table
    or a short, printable message."""
    count("fuzz: ptable CSV", 1)
    lines = list(LINES)
    for index, kind, text in edits:
        i = index % len(lines) if lines else 0
        if not lines:
            break
        if kind == "drop":
            del lines[i]
        elif kind == "dup":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = (i + 1) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i] = text
    read("\n".join(lines) + "\n")


@pytest.mark.slow
@settings(max_examples=3000)
@given(st.text(max_size=400))
def test_any_text_long(text: str) -> None:
    """test_any_text with ten times the examples."""
    test_any_text.hypothesis.inner_test(text)


@pytest.mark.slow
@settings(max_examples=3000)
@given(st.binary(max_size=400))
def test_any_bytes_decoded_leniently_long(data: bytes) -> None:
    """test_any_bytes_decoded_leniently with ten times the examples."""
    test_any_bytes_decoded_leniently.hypothesis.inner_test(data)


@pytest.mark.slow
@settings(max_examples=3000)
@given(MUTATIONS)
def test_mutations_of_a_valid_table_long(edits: list[tuple[int, str, str]]) -> None:
    """test_mutations_of_a_valid_table with ten times the examples."""
    test_mutations_of_a_valid_table.hypothesis.inner_test(edits)


def test_the_unmutated_table_reads_back() -> None:
    """The starting point of the mutations is a table that reads."""
    assert read(SMALL) is not None


def test_a_bare_carriage_return_is_a_message_not_a_csv_error() -> None:
    """Found by test_any_text: csv.Error used to escape read_ons_csv."""
    try:
        read_ons_csv("\r0")
    except ValueError as exc:
        assert "not a readable CSV file" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("accepted")


@pytest.mark.parametrize("value", ["1_0", "\u0661", "9" * 5000, "\x1b[2J" + "x" * 100_000])
def test_a_value_is_ascii_digits_and_is_quoted_short(value: str) -> None:
    """Found by the review: int() took "1_0" as 10 and other scripts' digits, spent time on
    thousands of digits, and the message quoted a wrong field whole (control characters
    included). A value is a few ASCII digits now, and the message quotes 40 characters."""
    lines = list(LINES)
    lines[1] = f"1,0,{value}"
    with pytest.raises(ValueError) as caught:
        read_ons_csv("\n".join(lines) + "\n")
    message = str(caught.value)
    assert "must be an integer" in message and len(message) < 200 and message.isprintable()


def test_ptable_make_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    """Found by the review of output paths: `census ptable make --out FILE` wrote the table to
    the fixed name ".FILE.partial" with Path.write_text, so a link planted at that name (in a
    shared folder) had the table written over the file it points to. The temporary file is
    made new with an unpredictable name (mkstemp) now."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "table.csv"
    (tmp_path / ".table.csv.partial").symlink_to(victim)
    # 256 cell keys: with 8 the table would be too coarse to meet the protection floor.
    result = CliRunner().invoke(cli, ["ptable", "make", "--out", str(out), "--max-count", "12",
                                      "--ckeys", "256"])
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious\n"
    assert read_ons_csv(out.read_text()).max_pcv == 12
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == [
        ".table.csv.partial"]


def test_ptable_check_refuses_a_huge_file_before_reading_it(tmp_path: Path) -> None:
    """Found by the review: `census ptable check FILE` read the whole file into memory before
    the row limit could stop it. A file larger than any table may be is refused unread."""
    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:
        fh.write(b"pcv,ckey,pvalue\n")
        fh.truncate(1 << 30)
    result = CliRunner().invoke(cli, ["ptable", "check", str(path)])
    assert result.exit_code == 2 and "at most" in result.output, result.output
