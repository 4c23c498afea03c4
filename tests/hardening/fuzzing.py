"""What the fuzz tests of sealed files share (tests/hardening/test_fuzz_bundles.py,
test_fuzz_forms.py, test_fuzz_transfers.py): a fresh copy of a prepared database per example,
opened with the raw key (tests.helpers.RAW_KEY: no passphrase derivation, so an example costs
milliseconds and examples do not interact); hostile values and the mutations of a payload; and
what a refusal must look like."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from census.domain.config import SurveyConfig, default_config
from census.domain.ids import new_id
from census.formats.payload import (
    AREA_COLUMNS,
    DECISION_COLUMNS,
    DWELLING_COLUMNS,
    HOUSEHOLD_COLUMNS,
    OVERRIDE_COLUMNS,
    VISIT_COLUMNS,
)
from census.storage.keying import SESSION_COLUMNS
from census.storage.store import Store
from tests.helpers import RAW_KEY


@contextmanager
def fresh_copy(pristine: Path, folder: Path) -> Iterator[Store]:
    """A copy of the prepared database `pristine` in `folder` (the last copy's files removed),
    open with the raw key."""
    path = folder / "run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(pristine, path)
    store = Store.open(path, RAW_KEY)
    try:
        yield store
    finally:
        store.close()


NOW = datetime(2026, 11, 28, 12, 0)
STAMP = "2026-11-28T12:00:00Z"
EA1, EA2, HILL = "R01-D01-EA001", "R01-D01-EA002", "R01-D02-EA001"
CFG = default_config()
CAP = CFG.max_household_size
N_CELLS = len(CFG.cells)
HOUSEHOLD_ALL = (*HOUSEHOLD_COLUMNS, *(f"{s}.{b}" for s, b in CFG.cells))
COLUMNS = {"dwellings": DWELLING_COLUMNS, "visits": VISIT_COLUMNS,
           "households": HOUSEHOLD_ALL, "overrides": OVERRIDE_COLUMNS,
           "decisions": DECISION_COLUMNS, "areas": AREA_COLUMNS,
           "held": ("record_type", "id", "revision", "digest"), "sessions": SESSION_COLUMNS}
ROW_TABLES = ("dwellings", "visits", "households", "overrides", "decisions", "sessions")
TOP_KEYS = (*ROW_TABLES, "closed", "enumerators", "areas", "held", "format", "survey", "extra")
HEADER_KEYS = ("id", "seq", "created", "sender", "sender_role", "recipient_code", "counts")


# -- hostile values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deep:
    """A list nested `depth` levels deep (json.dumps cannot write it; `payload_bytes` does)."""

    depth: int


NUMBERS = [0, 1, 2, 3, 60, 61, 99, 100, 9999, 10000, -1, -(2**31), 2**31 - 1, 2**31, 2**31 + 1,
           2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -(10**30)]
TEXTS = [EA1, EA2, HILL, "R01-D01", "R01", "ZZ-99", "r01-d01-ea001", "E001", "E002", "S01", "",
         " ", "x" * 41, "x" * 61, "\x1b[2J\x1b]0;owned\x07", "bad\nline", "e\u0301", "\u202eevil",
         "W1", "W001", "W٠٠١", "E005", "W001,E001", "W001;X", "completed", "Completed",
         "vacant ", "callback", "complete", "approved", "returned", "draft", "member", "proxy",
         "house", "observed_by_enumerator", "counts_wrong", "approved", "2026-11-20T10:00",
         "2026-11-20T10:00:59.999999", "2026-02-30T10:00", "2026-11-20T10:00+02:00",
         "9999-12-31T23:59", "0001-01-01T00:00", "2026-11-28T16:03:25Z", "2026-11-28T16:03:25",
         "2026-13-28T16:03:25Z", "0" * 32, "00" * 15, "zz" * 16, "0" * 64, "g" * 64,
         "0193a5b2-7c10-7def-8a11-000000000001", "0193A5B2-7C10-7DEF-8A11-000000000001",
         "ffffffff-ffff-ffff-ffff-ffffffffffff", "NaN", "null", "1", "3", "😀" * 20]

SCALARS = st.one_of(
    st.none(), st.booleans(), st.sampled_from(NUMBERS), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(TEXTS),
    st.text(max_size=30))
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=4), SCALARS, max_size=2),
    st.integers(900, 1100).map(Deep),
    st.integers(1_000, 300_000).map(lambda n: "x" * n))
#: What a signed header may carry (seal() writes strict JSON: no NaN, no deep nesting).
HEADER_VALUES = st.one_of(
    st.none(), st.booleans(), st.sampled_from(NUMBERS), st.sampled_from(TEXTS),
    st.text(max_size=60), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


def special(column: str, ids: list[str]) -> st.SearchStrategy[Any]:
    """Values that mean something in a column: other records' ids, near-miss codes, limits."""
    if column in ("id", "dwelling_id", "record_id", "household_id"):
        return st.sampled_from([*ids, new_id(), "?"])
    if column in ("area", "code", "parent"):
        return st.sampled_from([EA1, EA2, HILL, "R01-D01", "R01", "ZZ-99", "R01-D02", None])
    if column in ("level", "record_type"):
        return st.sampled_from(["region", "district", "ea", "planet", "dwelling", "household",
                                "visit", ""])
    if column in ("revision", "base_rev", "structure", "number", "attempt", "away", "visitors",
                  "declared_total") or "." in column:
        return st.sampled_from([0, 1, 2, 3, 15, 16, CAP, CAP + 1, 99, 100, 9999, 10000, -1,
                                2**31, 2**31 + 1, 2**63])
    if column in ("status", "respondent", "type", "occupancy", "outcome", "reason", "action"):
        return st.sampled_from(["complete", "approved", "returned", "draft", "proxy", "vacant",
                                "not_dwelling", "under_construction", "completed", "callback",
                                "refused", "no_one_home", "counts_wrong", "observed_by_enumerator",
                                "Completed", ""])
    if column in ("at", "callback_at", "updated_at"):
        return st.sampled_from(["2026-11-20T10:00", "2026-11-29T10:00", "2026-11-20T09:00",
                                "2027-01-01T00:00", "2026-11-28T16:03:25Z", "9999-12-31T23:59",
                                None])
    return VALUES


def checkpointed(store: Store) -> None:
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    store.close()


def payload_bytes(body: dict[str, Any], cfg: SurveyConfig = CFG) -> bytes:
    """The payload as payload.encode writes it, but any value: NaN as JSON's NaN token, and a
    Deep value as brackets nested that deep."""
    deep: set[int] = set()

    def placeholder(value: object) -> str:
        assert isinstance(value, Deep)
        deep.add(value.depth)
        return f"@@deep{value.depth}@@"

    text = json.dumps({"format": 1, "survey": cfg.digest(), **body}, separators=(",", ":"),
                      ensure_ascii=False, default=placeholder)
    for depth in deep:
        text = text.replace(f'"@@deep{depth}@@"', "[" * depth + "]" * depth)
    return text.encode()


# -- mutations -----------------------------------------------------------------------------------


@st.composite
def mutation(draw: st.DrawFn, ids: list[str], tables: tuple[str, ...] = ROW_TABLES
             ) -> tuple[Any, ...]:
    """One edit of a payload body or its header (`mutate` applies it)."""
    kind = draw(st.sampled_from(["cell", "cell", "cell", "drop", "copy", "width", "steal",
                                 "key", "header"]))
    table = draw(st.sampled_from(tables))
    row = draw(st.integers(0, 10))
    if kind == "cell":
        column = draw(st.integers(0, len(COLUMNS[table]) - 1))
        name = COLUMNS[table][column]
        value = draw(st.one_of(special(name, ids), VALUES))
        return kind, table, row, column, value
    if kind == "width":
        return kind, table, row, draw(st.sampled_from([-3, -1, 1, 2]))
    if kind == "steal":  # take another row's id (or its numbers)
        return kind, table, row, draw(st.integers(0, 10)), draw(st.integers(0, 3))
    if kind == "key":
        return kind, draw(st.sampled_from(TOP_KEYS)), draw(VALUES)
    if kind == "header":
        return kind, draw(st.sampled_from(HEADER_KEYS)), draw(HEADER_VALUES)
    return kind, table, row


def mutate(base: dict[str, Any], header: dict[str, Any], mutations: list[tuple[Any, ...]]
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Copies of a payload body and a header with the mutations applied."""
    body = json.loads(json.dumps(base))
    header = dict(header)
    for m in mutations:
        kind = m[0]
        if kind == "key":
            body[m[1]] = m[2]
            continue
        if kind == "header":
            header[m[1]] = m[2]
            continue
        table = m[1]
        found = body.get(table)
        if not isinstance(found, list) or not found:
            continue
        i = m[2] % len(found)
        row = found[i]
        if not isinstance(row, list):
            continue
        if kind == "cell" and row:
            row[m[3] % len(row)] = m[4]
        elif kind == "drop":
            del found[i]
        elif kind == "copy":
            found.insert(i, list(row))
        elif kind == "width":
            if m[3] < 0:
                del row[m[3]:]
            else:
                row.extend([None] * m[3])
        elif kind == "steal" and row:
            other = found[m[3] % len(found)]
            if isinstance(other, list) and other:
                # the id, or the natural key (area, structure, number / dwelling, number)
                for c in ([0] if m[4] == 0 else [1, 2, 3] if table == "dwellings" else [1, 2]):
                    if c < min(len(row), len(other)):
                        row[c] = other[c]
    return body, header


def clear(message: str, path: Path) -> None:
    """A refusal that names the file, fits on a line, and quotes nothing raw."""
    assert message.startswith(f"{path}: "), message
    reason = message[len(str(path)) + 2:]
    assert 10 <= len(reason) <= 700, message
    assert reason.isprintable(), message
    assert "Traceback" not in message and "Internal error" not in message
