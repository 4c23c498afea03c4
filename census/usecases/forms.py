"""Forms of this database's own user, in batches through the one intake
(`census.usecases.intake`): `census forms import` (JSON Lines of dwelling records, read a line at
a time, every problem named by line and field) and `store_dwellings` (records built in Python:
the app's saves, the demo). Each batch of CHUNK records is one transaction (or the whole file
with `all_or_nothing`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, BinaryIO

from census.domain.model import Dwelling
from census.formats.record_json import dwelling_from_json
from census.i18n import N_, Msg, field_key, show_value
from census.storage.store import Store
from census.usecases.intake import Intake
from census.usecases.reports import ImportReport, Tally
from census.usecases.sources import Gate, ProblemSink, Source, Via, blocks_record
from census.validation.rules import Problem

CHUNK = 1000
MAX_LINE = 1_000_000


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
            intake.reject(lineno, [text])
            continue
        if not text.strip():
            continue
        report.lines += 1
        if len(text) > MAX_LINE:
            intake.reject(lineno, [TOO_LONG])
            continue
        try:
            raw = json.loads(text, object_pairs_hook=_unique_keys)
        except _DuplicateField as exc:
            key = str(exc)
            intake.reject(lineno, [Problem("E034", field_key(key), {"value": show_value(key)})])
            continue
        except RecursionError:
            intake.reject(lineno, [TOO_DEEP])
            continue
        except json.JSONDecodeError as exc:
            intake.reject(lineno, [Problem("E030", "", {
                "error": f"{exc.msg}, column {exc.colno}"})])
            continue
        except ValueError:
            # Python refuses to read an integer of thousands of digits.
            intake.reject(lineno, [TOO_MANY_DIGITS])
            continue
        dwelling, problems = dwelling_from_json(raw, store.config)
        if dwelling is None:
            intake.reject(lineno, problems)
            continue
        yield lineno, dwelling


def import_lines(store: Store, lines: Iterable[str | Problem], *, now: datetime,
                 sink: ProblemSink,
                 all_or_nothing: bool = False, chunk: int = CHUNK) -> ImportReport:
    """Import JSONL lines (streamed). Each chunk is one transaction, or the whole file is one
    transaction with `all_or_nothing` (then nothing is stored unless every line is valid)."""
    report = ImportReport()
    intake = Intake(store, Source.here(store, Via.FORMS), now, report, sink)
    records = _parse_lines(lines, store, report, intake)
    with store.bulk():
        run_batches(store, intake, batches(records, chunk), all_or_nothing)
    return report


class _Rollback(Exception):
    """Raised inside a write transaction to undo it (all-or-nothing with an invalid line)."""


def batches(records: Iterable[tuple[int, Dwelling]], chunk: int
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


def run_batches(store: Store, intake: Intake, batches: Iterator[list[tuple[int, Dwelling]]],
                all_or_nothing: bool) -> None:
    """Each batch in its own transaction, or all of them in one with `all_or_nothing` (then
    nothing is stored unless every record is taken)."""
    report = intake.report
    if all_or_nothing:
        try:
            with store.write() as chain:
                for batch in batches:
                    intake.take_records(chain, batch)
                if report.invalid_lines:
                    raise _Rollback
        except _Rollback:
            report.stored = False
            report.dwellings, report.households = Tally(), Tally()  # nothing was stored
    else:
        for batch in batches:
            with store.write() as chain:
                intake.take_records(chain, batch)


def store_dwellings(store: Store, dwellings: Iterable[Dwelling], *, now: datetime,
                    sink: ProblemSink, chunk: int = CHUNK, gate: Gate = blocks_record,
                    checked: Callable[[str, list[Problem]], None] | None = None,
                    via: Via = Via.APP) -> ImportReport:
    """Store records built in Python (the app's saves, the demo) through the intake."""
    report = ImportReport()
    intake = Intake(store, Source.here(store, via, gate), now, report, sink, checked)

    def numbered() -> Iterator[tuple[int, Dwelling]]:
        for i, d in enumerate(dwellings, start=1):
            report.lines += 1
            yield i, d

    run_batches(store, intake, batches(numbered(), chunk), all_or_nothing=False)
    return report
