"""Taking in forms: one path for a JSONL import, the demo generator and (later) the TUI's saves.

Each record is parsed, run through the rule engine, compared with what the store holds
(revision and content digest), and written only when every check passes. Records are
identified by UUID and revision, so importing the same file twice changes nothing; an older
revision never overwrites a newer one; the same revision with other content is a conflict (E019).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, BinaryIO

from census.domain.model import Dwelling, Household
from census.i18n import N_
from census.records import dwelling_from_json, dwelling_text, household_text, with_seed
from census.storage.audit import Chain
from census.storage.store import DwellingWrite, HouseholdWrite, Store, Version, utc_now
from census.validation.engine import Context, check_dwelling
from census.validation.rules import Msg, Problem, Stage, field_key, show_value

CHUNK = 1000
MAX_LINE = 1_000_000

ProblemSink = Callable[[int, Problem], None]
Gate = Callable[[Problem], bool]


def blocks_record(p: Problem) -> bool:
    """The default gate: every blocking problem stops the record (imports, completing)."""
    return p.blocks


def blocks_draft(p: Problem) -> bool:
    """The gate of a draft save: only what the store cannot hold (value rules) stops it."""
    return p.blocks and p.rule.stage is Stage.VALUE


@dataclass
class Tally:
    """How many records were added, updated, left unchanged, or skipped as older."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0

    def bump(self, action: str) -> None:
        """Count one record by the action decided for it (new, update, unchanged, older)."""
        name = {"new": "added", "update": "updated"}.get(action, action)
        setattr(self, name, getattr(self, name) + 1)

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "older": self.older}


@dataclass
class ImportReport:
    """What an import did. `problems` counts problems; they are streamed to the sink as found."""

    lines: int = 0
    invalid_lines: int = 0
    problems: int = 0
    stored: bool = True
    dwellings: Tally = field(default_factory=Tally)
    households: Tally = field(default_factory=Tally)

    def as_dict(self) -> dict[str, object]:
        return {"lines": self.lines, "invalid_lines": self.invalid_lines,
                "problems": self.problems, "stored": self.stored,
                "dwellings": self.dwellings.as_dict(), "households": self.households.as_dict()}


class _Rollback(Exception):
    """Raised inside a write transaction to undo it (all-or-nothing with an invalid line)."""


def _decide(version: Version | None, revision: int, digest: str) -> str:
    if version is None:
        return "new"
    if revision > version.revision:
        return "update"
    if revision < version.revision:
        return "older"
    return "unchanged" if digest == version.digest else "conflict"


def context(store: Store, now: datetime | None) -> Context:
    """The rules' context for records of this store: its config, the clock, and which codes
    are enumeration areas (records belong to the lowest level)."""
    levels = store.area_levels()
    lowest = store.config.levels[-1]
    return Context(store.config, now=now, area_known=lambda code: levels.get(code) == lowest)


class Intake:
    """Checks and stores dwelling records in batches within the caller's write transaction.

    `checked` receives every problem (blocking or not) of each record that was stored: the
    rules ran on the record merged with its stored households, which is what is now stored.
    """

    def __init__(self, store: Store, now: datetime, report: ImportReport, sink: ProblemSink,
                 gate: Gate = blocks_record,
                 checked: Callable[[str, list[Problem]], None] | None = None):
        self.store = store
        self.gate = gate
        self.report = report
        self.sink = sink
        self.checked = checked
        self.ctx = context(store, now)

    def _reject(self, line: int, problems: list[Problem]) -> None:
        self.report.invalid_lines += 1
        self.report.problems += len(problems)
        for p in problems:
            self.sink(line, p)

    def process(self, chain: Chain, batch: list[tuple[int, Dwelling]]) -> None:
        """Check a batch of parsed records against the rules and the store; write the good."""
        store, cfg = self.store, self.store.config
        dv = store.dwelling_versions([d.id for _, d in batch])
        stored_households = store.households_of([d.id for _, d in batch if d.id in dv])
        hv = store.household_versions([h.id for _, d in batch for h in d.households])
        owners = store.natural_key_owners([(d.area, d.structure, d.number) for _, d in batch])
        hh_owners = store.household_numbers([d.id for _, d in batch])
        seen: dict[tuple[str, int, int], str] = {}
        writes: list[DwellingWrite] = []
        for line, d in batch:
            # The rules judge what the store will hold: the record as given plus the households
            # already stored in it that the record does not carry (an import never deletes one).
            carried = {h.id for h in d.households}
            kept = tuple(h for h in stored_households.get(d.id, ()) if h.id not in carried)
            merged = replace(d, households=d.households + kept) if kept else d
            found = check_dwelling(merged, self.ctx)
            problems = [p for p in found if self.gate(p)]
            key = (d.area, d.structure, d.number)
            other = seen.get(key) or owners.get(key)
            if other is not None and other != d.id:
                problems.append(Problem("E005", "dwelling", {
                    "key": f"{d.area} {d.structure}/{d.number}", "other": other}))
            d_text = dwelling_text(d, cfg)
            d_digest = hashlib.sha256(d_text.encode()).hexdigest()
            d_action = _decide(dv.get(d.id), d.revision, d_digest)
            if d_action == "conflict":
                problems.append(Problem("E019", "revision", {
                    "id": d.id, "revision": d.revision}))
            planned: list[tuple[Household, str, str, str]] = []
            for i, h in enumerate(d.households):
                stored = hv.get(h.id)
                if stored is not None and stored.dwelling_id != d.id:
                    problems.append(Problem("E021", f"households[{i}].id", {
                        "id": h.id, "other": stored.dwelling_id}))
                    continue
                h_text = household_text(h, cfg, d.id)
                h_digest = hashlib.sha256(h_text.encode()).hexdigest()
                action = _decide(stored, h.revision, h_digest)
                if action == "conflict":
                    problems.append(Problem("E019", f"households[{i}].revision", {
                        "id": h.id, "revision": h.revision}))
                owner = hh_owners.get((d.id, h.number))
                if owner is not None and owner != h.id:
                    problems.append(Problem("E005", f"households[{i}].number", {
                        "key": f"{d.area} {d.structure}/{d.number} #{h.number}",
                        "other": owner}))
                planned.append((with_seed(h, stored.seed if stored else None), h_digest, h_text,
                                action))
            if problems:
                self._reject(line, problems)
                continue
            seen[key] = d.id
            if self.checked is not None:
                self.checked(d.id, found)
            self.report.dwellings.bump(d_action)
            to_write = []
            for h, h_digest, h_text, action in planned:
                self.report.households.bump(action)
                if action in ("new", "update"):
                    to_write.append(HouseholdWrite(h, h_digest, action == "new", h_text))
            if d_action in ("new", "update") or to_write:
                writes.append(DwellingWrite(
                    dwelling=d, dwelling_digest=d_digest, dwelling_text=d_text,
                    write_dwelling=d_action in ("new", "update"), dwelling_new=d_action == "new",
                    households=to_write, who=d.enumerator or store.user))
        store.write_records(chain, writes, utc_now())


TOO_LONG = Problem("E030", "", {"error": Msg(N_("the line is longer than 1,000,000 "
                                                 "characters"))})
NOT_UTF8 = Problem("E030", "", {"error": Msg(N_("the line is not UTF-8 text"))})
TOO_DEEP = Problem("E030", "", {"error": Msg(N_("the line is nested too deeply"))})
TOO_MANY_DIGITS = Problem("E030", "", {"error": Msg(N_("a number has too many digits"))})


def read_lines(fh: BinaryIO) -> Iterator[str | Problem]:
    """The lines of a UTF-8 file, each at most MAX_LINE bytes: an over-long line or one that is
    not UTF-8 becomes a Problem (and the next line is read), so memory stays bounded and the
    line numbers stay right. A byte order mark at the start is dropped."""
    first = True
    while True:
        raw = fh.readline(MAX_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while True:  # skip the rest of the line without holding it
                rest = fh.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield TOO_LONG
            continue
        if first and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        first = False
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield NOT_UTF8


class _DuplicateField(ValueError):
    """A JSON object with the same key twice."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateField(key)
        out[key] = value
    return out


def _parse_lines(lines: Iterable[str | Problem], store: Store, report: ImportReport,
                 intake: Intake) -> Iterator[tuple[int, Dwelling]]:
    for lineno, text in enumerate(lines, start=1):
        if isinstance(text, Problem):
            report.lines += 1
            intake._reject(lineno, [text])
            continue
        if not text.strip():
            continue
        report.lines += 1
        if len(text) > MAX_LINE:
            intake._reject(lineno, [TOO_LONG])
            continue
        try:
            raw = json.loads(text, object_pairs_hook=_unique_keys)
        except _DuplicateField as exc:
            key = str(exc)
            intake._reject(lineno, [Problem("E034", field_key(key), {"value": show_value(key)})])
            continue
        except RecursionError:
            intake._reject(lineno, [TOO_DEEP])
            continue
        except json.JSONDecodeError as exc:
            intake._reject(lineno, [Problem("E030", "", {
                "error": f"{exc.msg}, column {exc.colno}"})])
            continue
        except ValueError:
            # Python refuses to read an integer of thousands of digits.
            intake._reject(lineno, [TOO_MANY_DIGITS])
            continue
        dwelling, problems = dwelling_from_json(raw, store.config)
        if dwelling is None:
            intake._reject(lineno, problems)
            continue
        yield lineno, dwelling


def import_lines(store: Store, lines: Iterable[str | Problem], *, now: datetime,
                 sink: ProblemSink,
                 all_or_nothing: bool = False, chunk: int = CHUNK) -> ImportReport:
    """Import JSONL lines (streamed). Each chunk is one transaction, or the whole file is one
    transaction with `all_or_nothing` (then nothing is stored unless every line is valid)."""
    report = ImportReport()
    intake = Intake(store, now, report, sink)
    records = _parse_lines(lines, store, report, intake)
    with store.bulk():
        _run(store, intake, report, _batches(records, chunk), all_or_nothing)
    return report


def _batches(records: Iterable[tuple[int, Dwelling]], chunk: int
             ) -> Iterator[list[tuple[int, Dwelling]]]:
    """Batches of at most `chunk` records. A record whose dwelling or household id is already in
    the batch starts a new one, so that it is judged against what the store holds after the
    earlier record (unchanged, newer, older or a conflict), never written over it."""
    batch: list[tuple[int, Dwelling]] = []
    ids: set[str] = set()
    for item in records:
        d = item[1]
        mine = {d.id, *(h.id for h in d.households)}
        if batch and (len(batch) >= chunk or not ids.isdisjoint(mine)):
            yield batch
            batch, ids = [], set()
        batch.append(item)
        ids |= mine
    if batch:
        yield batch


def _run(store: Store, intake: Intake, report: ImportReport,
         batches: Iterator[list[tuple[int, Dwelling]]], all_or_nothing: bool) -> None:
    if all_or_nothing:
        try:
            with store.write() as chain:
                for batch in batches:
                    intake.process(chain, batch)
                if report.invalid_lines:
                    raise _Rollback
        except _Rollback:
            report.stored = False
            report.dwellings, report.households = Tally(), Tally()  # nothing was stored
    else:
        for batch in batches:
            with store.write() as chain:
                intake.process(chain, batch)


def store_dwellings(store: Store, dwellings: Iterable[Dwelling], *, now: datetime,
                    sink: ProblemSink, chunk: int = CHUNK, gate: Gate = blocks_record,
                    checked: Callable[[str, list[Problem]], None] | None = None
                    ) -> ImportReport:
    """Store records built in Python (demo, TUI) through the same checks as an import."""
    report = ImportReport()
    intake = Intake(store, now, report, sink, gate, checked)

    def numbered() -> Iterator[tuple[int, Dwelling]]:
        for i, d in enumerate(dwellings, start=1):
            report.lines += 1
            yield i, d

    _run(store, intake, report, _batches(numbered(), chunk), all_or_nothing=False)
    return report
