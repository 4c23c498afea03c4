"""Bundles: an enumerator's (or supervisor's) records sealed for the level above; imported there
by verify, decrypt, validate and merge, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from census.domain.model import Role
from census.formats.payload import PayloadError, Records, decode
from census.i18n import _
from census.storage.areas import closed_areas, get_area
from census.storage.audit import Chain
from census.storage.exchange.bodies import bundle_body
from census.storage.exchange.closeout import purge_area
from census.storage.exchange.decisions import save_decisions
from census.storage.exchange.merge import check_areas, set_area_enumerators
from census.storage.exchange.peers import (
    upstream,
)
from census.storage.exchange.transfers import Transfer, log_transfer
from census.storage.store import Store, utc_now
from census.transfer.files import TransferError, fail, read_file
from census.usecases.exchange import (
    header_fields,
    imported_before,
    open_from_peer,
    seal_to,
    taking,
)
from census.usecases.intake import Intake, Source, Via
from census.usecases.reports import MergeReport
from census.validation.engine import personal_data


@dataclass(frozen=True)
class Exported:
    id: str
    seq: int
    recipient: str
    counts: dict[str, int]


def export_bundle(store: Store, out: Path, everything: bool = False) -> Exported:
    """Seal every record not yet acknowledged (or all, with `everything`) for upstream."""
    to = upstream(store)
    if to is None:
        raise TransferError(_("This database has no supervisor yet: import an assignment file "
                              "first (`census assignment import FILE`)."))
    body, counts = bundle_body(store, everything)
    tid, seq = seal_to(store, "bundle", to, body, counts, out)
    return Exported(tid, seq, to.code, counts)


@dataclass(frozen=True)
class Imported:
    """What one bundle import did (or that it had been imported before)."""

    path: Path
    id: str
    sender: str
    seq: int
    report: MergeReport
    already: Transfer | None = None


def import_bundle(store: Store, path: Path, now: datetime,
                  on_decoded: Callable[[int, int], None] | None = None) -> Imported:
    """Verify, decrypt, validate and merge one bundle in one transaction. `on_decoded` hears
    the number of dwellings and households about to be merged (to tell a waiting user)."""
    data = read_file(path)
    opened = open_from_peer(store, path, "bundle", data)
    tid, seq, created = header_fields(opened.header, path)
    sender = opened.sender
    if sender.direction != "downstream":
        raise fail(path, _("it comes from {code}, who is not a user this database assigned "
                            "work to.").format(code=sender.code))
    done = imported_before(store, path, tid, "bundle", sender.code)
    if done is not None:
        return Imported(path, tid, sender.code, seq, MergeReport(), done)
    try:
        recs = decode(opened.payload, store.config)
    except PayloadError as exc:
        raise fail(path, str(exc)) from exc
    outside = check_areas(store, sender.code, recs)
    if outside:
        listed = ", ".join(outside[:5]) + (" …" if len(outside) > 5 else "")
        raise fail(path, _("it holds records for areas not assigned to {code}: {areas}. Nothing "
                            "was imported; assign those areas to {code} first, or ask which "
                            "device made it.").format(code=sender.code, areas=listed))
    if on_decoded is not None:
        on_decoded(len(recs.dwellings), len(recs.households))
    with taking(path), store.bulk(), store.write() as chain:
        report = merge(store, chain, Source(Via.BUNDLE, sender.code, sender.role, tid), recs,
                       now)
        log_transfer(store, chain, transfer_id=tid, kind="bundle", direction="in",
                     peer_code=sender.code, seq=seq, created=created, payload=opened.payload,
                     summary=report.as_dict())
    return Imported(path, tid, sender.code, seq, report)


def merge(store: Store, chain: Chain, source: Source, recs: Records, now: datetime
          ) -> MergeReport:
    """Merge a decoded bundle in the caller's transaction: its records through the intake, then
    what its sender says besides them (decisions, who works each area, closed areas)."""
    intake = Intake(store, source, now)
    closed = closed_areas(store)
    report = intake.take_bundle(chain, recs)
    stamp = utc_now()
    sender, role = source.sender, source.role
    if role is not Role.ENUMERATOR:
        # Decisions travel up with their households: only for households this bundle wrote,
        # and a note that looks like personal data is not kept.
        save_decisions(store, [
            replace(x, note=None if x.note is None or personal_data(x.note) else x.note)
            for x in recs.decisions if x.household_id in intake.written_households])
    # An enumerator's bundle speaks for its own areas only, never for others.
    set_area_enumerators(store, chain, [(code, enumerator) for code, enumerator in recs.enumerators
                                        if role is not Role.ENUMERATOR or enumerator == sender],
                         sender, stamp)
    if role is not Role.ENUMERATOR:  # closing is a supervisor's step
        for code in recs.closed:
            if code not in closed and get_area(store, code) is not None:
                purge_area(store, chain, code, sender)
                report.closed.append(code)
    return report


# -- receipts (supervisor → enumerator) ---------------------------------------------------------
