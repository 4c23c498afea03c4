"""Untrusted ptable files: whatever the bytes, reading one either gives a table or raises
ValueError with a message (the CLI and the export turn that into a clear refusal); nothing
else escapes. And a table that is read is complete and within the limits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from census.privacy.ptable import (
    PVALUE_LIMIT,
    generate,
    publication_problem,
    read_ons_csv,
    write_ons_csv,
)

SMALL = write_ons_csv(generate(5, 3.0, 2, max_pcv=12, ckey_range=8))
LINES = SMALL.splitlines()


def read(text: str) -> object:
    try:
        table = read_ons_csv(text)
    except ValueError as exc:
        assert str(exc)  # a message, never an empty one
        return None
    assert len(table.rows) == table.max_pcv * table.ckey_range
    assert all(abs(v) <= PVALUE_LIMIT for v in table.rows.values())
    assert publication_problem(table, 2) is None or isinstance(
        publication_problem(table, 2), str)
    return table


@settings(max_examples=300)
@given(st.text(max_size=400))
def test_any_text(text: str) -> None:
    read(text)


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_any_bytes_decoded_leniently(data: bytes) -> None:
    read(data.decode("utf-8", errors="replace"))


@settings(max_examples=300)
@given(st.lists(st.tuples(st.integers(0, len(LINES) - 1),
                          st.sampled_from(["drop", "dup", "swap", "edit"]),
                          st.text(alphabet="0123456789-,x \"", max_size=12)),
                min_size=1, max_size=6))
def test_mutations_of_a_valid_table(edits: list[tuple[int, str, str]]) -> None:
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


def test_the_unmutated_table_reads_back() -> None:
    assert read(SMALL) is not None


def test_a_bare_carriage_return_is_a_message_not_a_csv_error() -> None:
    """Found by test_any_text: csv.Error used to escape read_ons_csv."""
    try:
        read_ons_csv("\r0")
    except ValueError as exc:
        assert "not a readable CSV file" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("accepted")
