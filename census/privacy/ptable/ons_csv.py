"""Reading and writing perturbation tables as ONS-format CSV (pcv,ckey,pvalue)."""

from __future__ import annotations

import csv
import io
import re
from typing import IO, Any

from census.i18n import Quoted, field_key
from census.privacy.ptable.table import (
    COLUMNS,
    KEY_MODULUS,
    PCV_LIMIT,
    PVALUE_LIMIT,
    ROW_LIMIT,
    PTable,
    first_missing,
)

_INT = re.compile(r"[+-]?[0-9]{1,12}")


def _parse_int(text: str, column: str, line: int) -> int:
    # ASCII digits only, and few of them: int() would also take "1_000", other scripts' digits
    # and thousands of digits (slowly); a message quotes at most 40 characters of the field.
    stripped = text.strip()
    if not _INT.fullmatch(stripped):
        raise ValueError(
            f"line {line}: column {column!r} must be an integer, got {Quoted(text)!r}")
    return int(stripped, 10)


def read_ons_csv(source: str | IO[str]) -> PTable:
    """Parse a ptable CSV (text, or a text file-like object) in the ONS format.

    The header must be exactly ``pcv,ckey,pvalue`` (quoted or not, as pandas writes it);
    blank lines are ignored. Raises ``ValueError`` naming the line and the problem for:
    a wrong or missing header, a row with the wrong number of fields, a non-integer value,
    pcv < 1 or ckey < 0, a duplicate (pcv, ckey), pcv + pvalue < 0, and any (pcv, ckey)
    missing from the grid ``1..max(pcv) x 0..max(ckey)``.
    """
    stream = io.StringIO(source) if isinstance(source, str) else source
    try:
        return _read_ons_csv(csv.reader(stream))
    except csv.Error as exc:  # e.g. a bare carriage return or a NUL byte inside a field
        raise ValueError(f"not a readable CSV file: {exc}") from None


def _read_ons_csv(reader: Any) -> PTable:
    header: list[str] | None = None
    for record in reader:
        if record and any(f.strip() for f in record):
            header = record
            break
    if header is None:
        raise ValueError("line 1: empty ptable: expected a header 'pcv,ckey,pvalue'")
    names = [h.strip().lstrip("\ufeff") for h in header]
    if tuple(names) != COLUMNS:
        missing = [c for c in COLUMNS if c not in names]
        extra = [field_key(c) for c in names if c not in COLUMNS][:5]
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing)}")
        if extra:
            detail.append(f"unexpected {', '.join(extra)}")
        if not detail:
            detail.append("wrong order")
        raise ValueError(
            f"line {reader.line_num}: header must be exactly 'pcv,ckey,pvalue', got "
            f"{Quoted(','.join(names))!r} ({'; '.join(detail)})"
        )

    rows: dict[tuple[int, int], int] = {}
    seen_at: dict[tuple[int, int], int] = {}
    for record in reader:
        line = reader.line_num
        if not record or not any(f.strip() for f in record):
            continue
        if len(record) != len(COLUMNS):
            raise ValueError(f"line {line}: expected 3 fields (pcv,ckey,pvalue), got {len(record)}")
        pcv = _parse_int(record[0], "pcv", line)
        ckey = _parse_int(record[1], "ckey", line)
        pvalue = _parse_int(record[2], "pvalue", line)
        if pcv < 1:
            raise ValueError(
                f"line {line}: pcv must be >= 1 (zeros are never perturbed), got {pcv}"
            )
        if ckey < 0:
            raise ValueError(f"line {line}: ckey must be >= 0, got {ckey}")
        if pcv > PCV_LIMIT or ckey >= KEY_MODULUS or abs(pvalue) > PVALUE_LIMIT:
            raise ValueError(
                f"line {line}: pcv must be at most {PCV_LIMIT}, ckey below 2^32 and pvalue "
                f"between -{PVALUE_LIMIT} and {PVALUE_LIMIT}; got {pcv},{ckey},{pvalue}"
            )
        if pcv + pvalue < 0:
            raise ValueError(
                f"line {line}: pcv + pvalue = {pcv} + {pvalue} < 0 would publish a negative count"
            )
        if (pcv, ckey) in rows:
            raise ValueError(
                f"line {line}: duplicate row for pcv={pcv}, ckey={ckey} "
                f"(first on line {seen_at[(pcv, ckey)]})"
            )
        rows[(pcv, ckey)] = pvalue
        seen_at[(pcv, ckey)] = line
        if len(rows) > ROW_LIMIT:
            raise ValueError(f"line {line}: more than {ROW_LIMIT:,} rows; a ptable needs at "
                             f"most 750 counts x a few thousand cell keys")
    if not rows:
        raise ValueError("ptable has a header but no rows")

    max_pcv = max(p for p, _ in rows)
    ckey_range = max(c for _, c in rows) + 1
    if len(rows) != max_pcv * ckey_range:
        pcv, ckey = first_missing(rows, max_pcv, ckey_range)
        n_missing = max_pcv * ckey_range - len(rows)
        raise ValueError(
            f"missing rows: {n_missing} (pcv, ckey) combinations of pcv 1..{max_pcv} x "
            f"ckey 0..{ckey_range - 1} are absent, first (pcv={pcv}, ckey={ckey})"
        )
    return PTable(max_pcv=max_pcv, ckey_range=ckey_range, rows=rows)


def write_ons_csv(table: PTable) -> str:
    """The table as ONS-format CSV text: header, rows sorted by (pcv, ckey), ``\\n`` endings."""
    lines = [",".join(COLUMNS)]
    for pcv in range(1, table.max_pcv + 1):
        for ckey in range(table.ckey_range):
            lines.append(f"{pcv},{ckey},{table.rows[(pcv, ckey)]}")
    return "\n".join(lines) + "\n"
