"""What keying paper forms keeps (issue 16; migration 0011): each batch's verify setting, each
keyed form (who keyed it, when, its place in the batch, whether it was chosen for verification
and what its verification found), and every operator session (keying, verifying, or an
enumerator's entry in the app): operator codes, times and counts of keys, never a key's value.

Inside the caller's `Store.write()` transaction for writes; `census.usecases.keying` decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlite_utils import Database

from census.domain.keying import OUTCOMES, VerifySetting
from census.storage.store import Store

MODES = ("key", "verify", "entry")
OUTCOME_CODES = tuple(str(o) for o in OUTCOMES)
_COUNTERS = ("forms", "keystrokes", "bad_keystrokes", "fields_verified", "keyer_errors",
             "verifier_errors")


def create_keying_tables(db: Database) -> None:
    """Migration 0011: the keying batches, keyed forms and operator sessions."""
    code = "CHECK (length({c}) BETWEEN 1 AND 40)"
    time = ("CHECK ({c} GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5]"
            "[0-9]*')")
    count = "INTEGER NOT NULL DEFAULT 0 CHECK ({c} >= 0)"
    counters = ",\n  ".join(f"{c} {count.format(c=c)}" for c in _COUNTERS)
    for sql in (
        f"""CREATE TABLE keying_batch (
  area TEXT PRIMARY KEY {code.format(c='area')},
  every INTEGER CHECK (every IS NULL OR every >= 1),
  share INTEGER CHECK (share IS NULL OR share BETWEEN 1 AND 10000),
  seed INTEGER NOT NULL,
  tolerance INTEGER NOT NULL CHECK (tolerance BETWEEN 0 AND 10000),
  rekey INTEGER NOT NULL DEFAULT 0 CHECK (rekey IN (0, 1)),
  set_by TEXT NOT NULL {code.format(c='set_by')},
  set_at TEXT NOT NULL {time.format(c='set_at')},
  CHECK ((every IS NULL) <> (share IS NULL))
) STRICT""",
        f"""CREATE TABLE keying_session (
  id INTEGER PRIMARY KEY,
  origin TEXT NOT NULL {code.format(c='origin')},
  origin_id INTEGER NOT NULL CHECK (origin_id >= 1),
  operator TEXT NOT NULL {code.format(c='operator')},
  mode TEXT NOT NULL CHECK (mode IN {MODES}),
  area TEXT CHECK (area IS NULL OR length(area) BETWEEN 1 AND 40),
  setting TEXT CHECK (setting IS NULL OR length(setting) <= 80),
  started_at TEXT NOT NULL {time.format(c='started_at')},
  ended_at TEXT NOT NULL {time.format(c='ended_at')},
  pause_seconds {count.format(c='pause_seconds')},
  {counters},
  UNIQUE (origin, origin_id)
) STRICT""",
        f"""CREATE TABLE keyed_form (
  record_id TEXT PRIMARY KEY CHECK (length(record_id) = 36),
  dwelling_id TEXT NOT NULL CHECK (length(dwelling_id) = 36),
  area TEXT NOT NULL {code.format(c='area')},
  position INTEGER NOT NULL CHECK (position >= 1),
  operator TEXT NOT NULL {code.format(c='operator')},
  session INTEGER NOT NULL REFERENCES keying_session (id),
  keyed_at TEXT NOT NULL {time.format(c='keyed_at')},
  revision INTEGER NOT NULL CHECK (revision >= 1),
  day TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
  outcome TEXT NOT NULL CHECK (outcome IN {OUTCOME_CODES}),
  flagged INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
  chosen INTEGER CHECK (chosen IS NULL OR chosen IN (0, 1)),
  verified_by TEXT CHECK (verified_by IS NULL OR length(verified_by) BETWEEN 1 AND 40),
  verify_session INTEGER REFERENCES keying_session (id),
  verified_at TEXT {time.format(c='verified_at')},
  fields_verified {count.format(c='fields_verified')},
  keyer_errors {count.format(c='keyer_errors')},
  verifier_errors {count.format(c='verifier_errors')},
  UNIQUE (area, position)
) STRICT""",
        "CREATE INDEX keyed_form_operator ON keyed_form (operator, keyed_at)",
        "CREATE INDEX keying_session_operator ON keying_session (operator, started_at)",
    ):
        db.execute(sql)


# -- batches -----------------------------------------------------------------------------------


def batch_setting(store: Store, area: str) -> tuple[VerifySetting, bool] | None:
    """A batch's verify setting and whether it is flagged for full re-keying."""
    row = store.conn.execute("SELECT every, share, seed, tolerance, rekey FROM keying_batch "
                             "WHERE area = ?", (area,)).fetchone()
    if row is None:
        return None
    return VerifySetting(every=row[0], share=row[1], seed=row[2], tolerance=row[3]), bool(row[4])


def put_batch_setting(store: Store, area: str, setting: VerifySetting, who: str, at: str
                      ) -> None:
    store.conn.execute(
        "INSERT INTO keying_batch (area, every, share, seed, tolerance, set_by, set_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (area) DO UPDATE SET every = excluded.every, "
        "share = excluded.share, seed = excluded.seed, tolerance = excluded.tolerance, "
        "set_by = excluded.set_by, set_at = excluded.set_at",
        (area, setting.every, setting.share, setting.seed, setting.tolerance, who, at))


def flag_rekey(store: Store, area: str, rekey: bool) -> None:
    store.conn.execute("UPDATE keying_batch SET rekey = ? WHERE area = ?", (int(rekey), area))


# -- sessions ----------------------------------------------------------------------------------


@dataclass
class SessionCounts:
    """What a session has counted so far (kept in its row after each form)."""

    forms: int = 0
    keystrokes: int = 0
    bad_keystrokes: int = 0
    fields_verified: int = 0
    keyer_errors: int = 0
    verifier_errors: int = 0
    pause_seconds: int = 0


def start_session(store: Store, operator: str, mode: str, area: str | None,
                  setting: str | None, at: str) -> int:
    """A session logged here: its origin is this database's user, numbered as its row."""
    row = store.conn.execute("SELECT coalesce(max(origin_id), 0) + 1 FROM keying_session "
                             "WHERE origin = ?", (store.user,)).fetchone()
    cur = store.conn.execute(
        "INSERT INTO keying_session (origin, origin_id, operator, mode, area, setting, "
        "started_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (store.user, row[0], operator, mode, area, setting, at, at))
    return int(cur.lastrowid or 0)


SESSION_COLUMNS = ("origin", "origin_id", "operator", "mode", "area", "setting", "started_at",
                   "ended_at", "pause_seconds", *_COUNTERS)
"""A session as it travels up in a bundle (the database it was logged in, and its number
there, name it everywhere)."""


def session_rows(store: Store) -> list[list[Any]]:
    """Every session this database holds (its own and those sent from below), for a bundle."""
    return [list(r) for r in store.conn.execute(
        f"SELECT {', '.join(SESSION_COLUMNS)} FROM keying_session ORDER BY origin, origin_id")]


def save_sessions(store: Store, rows: Sequence[Sequence[Any]]) -> int:
    """Sessions sent from below: new ones added, known ones updated when they have gone on
    since (a session's counts only grow). Returns how many were added or updated."""
    names = ", ".join(SESSION_COLUMNS)
    marks = ", ".join("?" * len(SESSION_COLUMNS))
    sets = ", ".join(f"{c} = excluded.{c}" for c in SESSION_COLUMNS[2:])
    before = store.conn.total_changes
    store.conn.executemany(
        f"INSERT INTO keying_session ({names}) VALUES ({marks}) ON CONFLICT (origin, origin_id) "
        f"DO UPDATE SET {sets} WHERE excluded.ended_at > keying_session.ended_at", rows)
    return int(store.conn.total_changes - before)


def save_session(store: Store, session: int, counts: SessionCounts, at: str) -> None:
    names = [f.name for f in fields(counts)]
    sets = ", ".join(f"{n} = ?" for n in names)
    store.conn.execute(f"UPDATE keying_session SET {sets}, ended_at = ? WHERE id = ?",
                       [*(getattr(counts, n) for n in names), at, session])


# -- keyed forms -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyedForm:
    """A form keyed in a batch: its record, place in the batch, keyer, the revision it was
    left at by keying (or by its verification), the day and outcome keyed, whether it was
    marked for review, chosen for verification and verified, and the record's revision now."""

    record_id: str
    dwelling_id: str
    area: str
    position: int
    operator: str
    revision: int
    day: str
    outcome: str
    flagged: bool
    chosen: bool | None
    verified_by: str | None
    current: int | None
    """The record's revision now (None: it is gone)."""

    @property
    def changed(self) -> bool:
        """True when the record was changed since it was keyed (by review, or another way):
        it is no longer the keyer's to verify."""
        return self.current != self.revision


_KEYED = ("SELECT k.record_id, k.dwelling_id, k.area, k.position, k.operator, k.revision, "
          "k.day, k.outcome, k.flagged, k.chosen, k.verified_by, "
          "coalesce(h.revision, d.revision) FROM keyed_form k "
          "LEFT JOIN household h ON h.id = k.record_id LEFT JOIN dwelling d ON d.id = k.record_id")


def _keyed(r: Sequence[Any]) -> KeyedForm:
    return KeyedForm(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]),
                     None if r[9] is None else bool(r[9]), r[10], r[11])


def next_position(store: Store, area: str) -> int:
    row = store.conn.execute("SELECT max(position) FROM keyed_form WHERE area = ?",
                             (area,)).fetchone()
    return int(row[0] or 0) + 1


def add_keyed_form(store: Store, record_id: str, dwelling_id: str, area: str, operator: str,
                   session: int, at: str, revision: int, day: str, outcome: str,
                   flagged: bool) -> None:
    store.conn.execute(
        "INSERT INTO keyed_form (record_id, dwelling_id, area, position, operator, session, "
        "keyed_at, revision, day, outcome, flagged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (record_id, dwelling_id, area, next_position(store, area), operator, session, at,
         revision, day, outcome, int(flagged)))


def keyed_forms(store: Store, area: str) -> list[KeyedForm]:
    """The forms keyed in a batch, in the order they were keyed."""
    return [_keyed(r) for r in store.conn.execute(f"{_KEYED} WHERE k.area = ? ORDER BY "
                                                  "k.position", (area,))]


def keyed_form(store: Store, record_id: str) -> KeyedForm | None:
    r = store.conn.execute(f"{_KEYED} WHERE k.record_id = ?", (record_id,)).fetchone()
    return None if r is None else _keyed(r)


def keyed_in_dwelling(store: Store, dwelling_id: str) -> list[KeyedForm]:
    return [_keyed(r) for r in store.conn.execute(f"{_KEYED} WHERE k.dwelling_id = ?",
                                                  (dwelling_id,))]


def set_keyed(store: Store, record_id: str, revision: int, day: str, outcome: str,
              flagged: bool | None = None) -> None:
    """What a keyed form holds after its correction (the revision it is left at)."""
    store.conn.execute("UPDATE keyed_form SET revision = ?, day = ?, outcome = ?, "
                       "flagged = max(flagged, coalesce(?, 0)) WHERE record_id = ?",
                       (revision, day, outcome, None if flagged is None else int(flagged),
                        record_id))


def choose(store: Store, chosen: Sequence[tuple[str, bool]]) -> None:
    """Record which forms the batch's setting chose (a choice is kept until the setting
    changes)."""
    store.conn.executemany("UPDATE keyed_form SET chosen = ? WHERE record_id = ? AND chosen IS "
                           "NULL", [(int(c), rid) for rid, c in chosen])


def choose_again(store: Store, area: str, every_form: bool = False) -> None:
    """The forms of a batch not verified yet are chosen again (by a new setting), or all
    chosen (the batch is to be keyed again in full)."""
    store.conn.execute("UPDATE keyed_form SET chosen = ? WHERE area = ? AND verified_by IS NULL",
                       (1 if every_form else None, area))


def record_verification(store: Store, record_id: str, verifier: str, session: int, at: str,
                        fields_verified: int, keyer_errors: int, verifier_errors: int) -> None:
    """A form's verification (the caller checked, in the same transaction, that it had
    none)."""
    store.conn.execute(
        "UPDATE keyed_form SET verified_by = ?, verify_session = ?, verified_at = ?, "
        "fields_verified = ?, keyer_errors = ?, verifier_errors = ? WHERE record_id = ?",
        (verifier, session, at, fields_verified, keyer_errors, verifier_errors, record_id))


def batch_errors(store: Store, area: str) -> tuple[int, int]:
    """Keyer errors found and fields verified in a batch so far."""
    row = store.conn.execute("SELECT coalesce(sum(keyer_errors), 0), "
                             "coalesce(sum(fields_verified), 0) FROM keyed_form WHERE area = ?",
                             (area,)).fetchone()
    return int(row[0]), int(row[1])


# -- statistics --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OperatorDay:
    """One operator's work of one local day in one mode: the sessions' sums, and, for keying,
    what verification found in the forms keyed that day (by whoever verified them)."""

    operator: str
    day: str
    mode: str
    sessions: int
    seconds: int
    pause_seconds: int
    forms: int
    keystrokes: int
    bad_keystrokes: int
    fields_verified: int
    errors: int
    """Keying: keyer errors found in this operator's forms; verifying: verifier errors."""


def operator_days(store: Store, operators: Sequence[str] | None = None) -> list[OperatorDay]:
    """Every operator's sums per day and mode, ordered by operator, day, mode."""
    seconds = "CAST(round((julianday(ended_at) - julianday(started_at)) * 86400) AS INTEGER)"
    rows: dict[tuple[str, str, str], list[Any]] = {}
    for r in store.conn.execute(
            f"SELECT operator, substr(started_at, 1, 10), mode, count(*), sum({seconds}), "
            f"sum(pause_seconds), sum(forms), sum(keystrokes), sum(bad_keystrokes), "
            f"sum(fields_verified), sum(verifier_errors) FROM keying_session "
            f"GROUP BY 1, 2, 3"):
        errors = r[10] if r[2] == "verify" else 0
        fv = r[9] if r[2] == "verify" else 0
        rows[(r[0], r[1], r[2])] = [*r[:9], fv, errors]
    # Keying: what the verifiers found in the forms keyed that day.
    for op, day, fv, ke in store.conn.execute(
            "SELECT operator, substr(keyed_at, 1, 10), sum(fields_verified), "
            "sum(keyer_errors) FROM keyed_form WHERE verified_by IS NOT NULL GROUP BY 1, 2"):
        row = rows.setdefault((op, day, "key"), [op, day, "key", 0, 0, 0, 0, 0, 0, 0, 0])
        row[9], row[10] = int(fv), int(ke)
    out = [OperatorDay(str(r[0]), str(r[1]), str(r[2]), *(int(v or 0) for v in r[3:]))
           for r in rows.values()]
    if operators is not None:
        out = [o for o in out if o.operator in operators]
    return sorted(out, key=lambda o: (o.operator, o.day, MODES.index(o.mode)))


@dataclass(frozen=True)
class BatchState:
    """A batch's keying and verification so far."""

    area: str
    setting: VerifySetting | None
    rekey: bool
    keyed: int
    flagged: int
    chosen: int
    verified: int
    keyer_errors: int
    fields_verified: int


def batch_states(store: Store) -> list[BatchState]:
    """Every batch with forms keyed or a setting, by area."""
    sums = {r[0]: r[1:] for r in store.conn.execute(
        "SELECT area, count(*), sum(flagged), sum(coalesce(chosen, 0)), "
        "sum(verified_by IS NOT NULL), sum(keyer_errors), sum(fields_verified) FROM keyed_form "
        "GROUP BY area")}
    settings = {r[0]: (VerifySetting(every=r[1], share=r[2], seed=r[3], tolerance=r[4]),
                       bool(r[5])) for r in store.conn.execute(
        "SELECT area, every, share, seed, tolerance, rekey FROM keying_batch")}
    out = []
    for area in sorted(set(sums) | set(settings)):
        setting, rekey = settings.get(area, (None, False))
        counts = sums.get(area, (0, 0, 0, 0, 0, 0))
        out.append(BatchState(area, setting, rekey, *(int(c or 0) for c in counts)))
    return out
