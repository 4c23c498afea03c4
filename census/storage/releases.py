"""The release ledger: every export of tables, what each published unit and area held (digests
of exact data, never the data), and which sets of cells went out under which method."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from census.storage.store import Store, utc_now


@dataclass(frozen=True)
class Published:
    """One published unit or area and table, as last released: its exact data's digest."""

    kind: str
    """"unit" or "area"."""
    code: str
    table: str
    digest: str
    release: str
    released_at: str


@dataclass(frozen=True)
class PublishedCells:
    """One set of cells (the enumeration areas a unit covers) and table, as last released."""

    cells: str
    table: str
    release: str
    released_at: str
    method: str
    ptable: str | None


def same_content(store: Store, content: str) -> tuple[str, str] | None:
    """(release id, released at) of the first export with exactly this content, if any."""
    row = store.conn.execute("SELECT id, created_at FROM release WHERE content = ? ORDER BY seq "
                             "LIMIT 1", (content,)).fetchone()
    return (row[0], row[1]) if row else None


def ledger_mark(store: Store) -> tuple[int, int]:
    """Changes whenever an export is recorded (a new release, or one written again): the
    newest release and the number of writes."""
    row = store.conn.execute("SELECT coalesce(max(seq), 0), coalesce(sum(writes), 0) "
                             "FROM release").fetchone()
    return int(row[0]), int(row[1])


def published(store: Store) -> Iterator[Published]:
    """Every unit and area published under protection, as last released (one pass)."""
    for row in store.conn.execute(
            "SELECT s.kind, s.code, s.tbl, s.digest, r.id, r.created_at FROM release_state s "
            "JOIN release r ON r.seq = s.seq"):
        yield Published(*row)


def published_cells(store: Store) -> Iterator[PublishedCells]:
    """Every set of cells published under protection, with the method of its last release."""
    for row in store.conn.execute(
            "SELECT c.cells, c.tbl, r.id, r.created_at, r.method, r.ptable FROM release_cells c "
            "JOIN release r ON r.seq = c.seq"):
        yield PublishedCells(*row)


@dataclass(frozen=True)
class PublishedUnit:
    """A set of enumeration areas published as one unit under protection: its key (a digest
    of the sorted codes), level and last name, and the areas."""

    cells: str
    level: str
    code: str
    members: frozenset[str]


def published_units(store: Store) -> list[PublishedUnit]:
    """Every set of enumeration areas ever published as a unit under protection."""
    return [PublishedUnit(cells, level, code, frozenset(json.loads(members)))
            for cells, level, code, members in store.conn.execute(
                "SELECT cells, level, code, members FROM release_members")]


@dataclass(frozen=True)
class Release:
    """One export as the ledger records it."""

    id: str
    level: str
    method: str
    ptable: str | None
    tables: tuple[str, ...]
    fmt: str
    units: int
    content: str
    override: str | None
    ptable_min_variance: float | None = None
    released_at: str | None = None
    """When it was released, as its files say (the ledger's created_at); None: now."""


def record_release(store: Store, release: Release, states: Mapping[tuple[str, str, str], str],
                   cells: Iterable[tuple[str, str]],
                   units: Iterable[tuple[str, str, Sequence[str]]] = ()) -> None:
    """Record an export in the caller's transaction: one ledger row per release id (writing
    the same release again notes when, and how many times). `states` ((kind, code, table) →
    digest), `cells` ((cells, table)) and `units` ((cells, unit code, enumeration areas))
    become the reference for the next protected release; an unprotected export passes none."""
    now = utc_now()
    again = store.conn.execute("SELECT seq FROM release WHERE id = ?", (release.id,)).fetchone()
    if again is not None:
        seq = again[0]
        store.conn.execute("UPDATE release SET last_written_at = ?, writes = writes + 1 "
                           "WHERE seq = ?", (now, seq))
    else:
        cur = store.conn.execute(
            "INSERT INTO release (id, created_at, user, level, method, ptable, tables, format, "
            "units, content, override, last_written_at, ptable_min_variance) VALUES (?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (release.id, release.released_at or now, store.user, release.level,
             release.method, release.ptable, ",".join(release.tables), release.fmt,
             release.units, release.content,
             release.override, now, release.ptable_min_variance))
        seq = cur.lastrowid
    store.conn.executemany(
        "INSERT INTO release_members (cells, level, code, members, seq) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (cells) DO UPDATE SET level = excluded.level, code = excluded.code, "
        "seq = excluded.seq",
        [(key, release.level, code, json.dumps(sorted(members)), seq)
         for key, code, members in units])
    store.conn.executemany(
        "INSERT INTO release_state (kind, code, tbl, digest, seq) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (kind, code, tbl) DO UPDATE SET digest = excluded.digest, "
        "seq = excluded.seq",
        [(kind, code, table, digest, seq) for (kind, code, table), digest
         in sorted(states.items())])
    store.conn.executemany(
        "INSERT INTO release_cells (cells, tbl, seq) VALUES (?, ?, ?) ON CONFLICT (cells, tbl) "
        "DO UPDATE SET seq = excluded.seq", sorted({(key, table, seq) for key, table in cells}))


def releases(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The release ledger, newest first."""
    cols = ("seq", "id", "created_at", "last_written_at", "writes", "user", "level", "method",
            "tables", "format", "units", "override")
    return [dict(zip(cols, r, strict=True)) for r in store.conn.execute(
        f"SELECT {', '.join(cols)} FROM release ORDER BY seq DESC LIMIT ?", (limit,))]
