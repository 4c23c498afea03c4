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
from dataclasses import dataclass, field
from datetime import datetime

from census.domain.model import Dwelling, Household
from census.i18n import N_
from census.records import dwelling_from_json, dwelling_text, household_text, with_seed
from census.storage.audit import Chain
from census.storage.store import DwellingWrite, HouseholdWrite, Store, Version, utc_now
from census.validation.engine import Context, check_dwelling
from census.validation.rules import Msg, Problem, Stage

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


class Intake:
    """Checks and stores dwelling records in batches within the caller's write transaction."""

    def __init__(self, store: Store, now: datetime, report: ImportReport, sink: ProblemSink,
                 gate: Gate = blocks_record):
        self.store = store
        self.gate = gate
        self.report = report
        self.sink = sink
        levels = store.area_levels()
        lowest = store.config.levels[-1]
        self.ctx = Context(store.config, now=now,
                           area_known=lambda code: levels.get(code) == lowest)

    def _reject(self, line: int, problems: list[Problem]) -> None:
        self.report.invalid_lines += 1
        self.report.problems += len(problems)
        for p in problems:
            self.sink(line, p)

    def process(self, chain: Chain, batch: list[tuple[int, Dwelling]]) -> None:
        """Check a batch of parsed records against the rules and the store; write the good."""
        store, cfg = self.store, self.store.config
        dv = store.dwelling_versions([d.id for _, d in batch])
        hv = store.household_versions([h.id for _, d in batch for h in d.households])
        owners = store.natural_key_owners([(d.area, d.structure, d.number) for _, d in batch])
        hh_owners = store.household_numbers([d.id for _, d in batch])
        seen: dict[tuple[str, int, int], str] = {}
        writes: list[DwellingWrite] = []
        for line, d in batch:
            problems = [p for p in check_dwelling(d, self.ctx) if self.gate(p)]
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


def _parse_lines(lines: Iterable[str], store: Store, report: ImportReport,
                 intake: Intake) -> Iterator[tuple[int, Dwelling]]:
    for lineno, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        report.lines += 1
        if len(text) > MAX_LINE:
            intake._reject(lineno, [Problem("E030", "", {
                "error": Msg(N_("the line is longer than 1,000,000 characters"))})])
            continue
        try:
            raw = json.loads(text)
        except ValueError as exc:
            error = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            col = f", column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            intake._reject(lineno, [Problem("E030", "", {"error": f"{error}{col}"})])
            continue
        dwelling, problems = dwelling_from_json(raw, store.config)
        if dwelling is None:
            intake._reject(lineno, problems)
            continue
        yield lineno, dwelling


def import_lines(store: Store, lines: Iterable[str], *, now: datetime, sink: ProblemSink,
                 all_or_nothing: bool = False, chunk: int = CHUNK) -> ImportReport:
    """Import JSONL lines (streamed). Each chunk is one transaction, or the whole file is one
    transaction with `all_or_nothing` (then nothing is stored unless every line is valid)."""
    report = ImportReport()
    intake = Intake(store, now, report, sink)
    records = _parse_lines(lines, store, report, intake)

    def batches() -> Iterator[list[tuple[int, Dwelling]]]:
        batch: list[tuple[int, Dwelling]] = []
        for item in records:
            batch.append(item)
            if len(batch) >= chunk:
                yield batch
                batch = []
        if batch:
            yield batch

    with store.bulk():
        _run(store, intake, report, batches(), all_or_nothing)
    return report


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
    else:
        for batch in batches:
            with store.write() as chain:
                intake.process(chain, batch)


def store_dwellings(store: Store, dwellings: Iterable[Dwelling], *, now: datetime,
                    sink: ProblemSink, chunk: int = CHUNK, gate: Gate = blocks_record
                    ) -> ImportReport:
    """Store records built in Python (demo, TUI) through the same checks as an import."""
    report = ImportReport()
    intake = Intake(store, now, report, sink, gate)
    batch: list[tuple[int, Dwelling]] = []
    for i, d in enumerate(dwellings, start=1):
        report.lines += 1
        batch.append((i, d))
        if len(batch) >= chunk:
            with store.write() as chain:
                intake.process(chain, batch)
            batch = []
    if batch:
        with store.write() as chain:
            intake.process(chain, batch)
    return report
