"""What a bundle, assignment or receipt carries, as JSON rows, both ways. Pure (no I/O).

Records travel as rows in the store's own column order (not the per-record JSON of `census forms
import`): one `json.loads` of a compact array is a C loop, where building and checking a dict per
record costs tens of microseconds (DESIGN §9). Every value is still checked on the way in: a row
with a wrong type, code or range becomes an `Invalid` item for the review queue, never a crash
and never a silent drop.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from census.domain.config import LOCATOR_HARD_LIMIT, SurveyConfig
from census.domain.ids import is_code, is_id
from census.domain.model import (
    Area,
    AreaStatus,
    Dwelling,
    DwellingType,
    Household,
    HouseholdStatus,
    Occupancy,
    Outcome,
    OverrideReason,
    ReopenReason,
    Respondent,
    ReturnReason,
    Visit,
)
from census.domain.revisions import Base
from census.formats.sessions import session_rows_of
from census.formats.values import (
    Bad,
    as_code,
    as_enum,
    as_int,
    as_opt_code,
    as_opt_int,
    as_opt_time,
    as_stamp,
    as_text,
    as_time,
    as_uuid,
    rows_of,
    shown,
)
from census.formats.values import PayloadError as PayloadError  # raised by decode
from census.i18n import _

PAYLOAD_FORMAT = 1
#: A text value of an unreadable row is kept for review up to this many characters.
KEPT_TEXT = 200
_WARNING_ID = re.compile(r"W[0-9]{3}")
_RULE_LIST = re.compile(r"[EWI][0-9]{3}(,[EWI][0-9]{3})*")
#: Largest revision a receipt may name (SQLite's integers are 64-bit).
MAX_REVISION = (1 << 63) - 1
#: Most audit anchors a file carries (one per bundle sent; the newest are kept).
MAX_ANCHORS = 1000
DWELLING_COLUMNS = ("id", "area", "structure", "number", "type", "occupancy", "locator",
                    "enumerator", "revision", "base_rev", "base_digest", "updated_at")
VISIT_COLUMNS = ("dwelling_id", "attempt", "at", "outcome", "callback_at", "enumerator")
HOUSEHOLD_COLUMNS = ("id", "dwelling_id", "number", "status", "respondent", "revision", "seed",
                     "away", "visitors", "declared_total", "base_rev", "base_digest",
                     "updated_at", "updated_by")
OVERRIDE_COLUMNS = ("record_id", "rule_id", "reason")
#: When each household was first completed (device local time), beside its row: files without
#: this list (made by earlier versions) still read, and earlier versions ignore it.
COMPLETED_COLUMNS = ("household_id", "completed_at")
AREA_COLUMNS = ("code", "level", "name", "parent", "expected_dwellings", "enumerator")
DECISION_COLUMNS = ("household_id", "revision", "action", "reason", "note", "rules", "who", "at")


@dataclass(frozen=True)
class IncomingHousehold:
    """One household row of a payload."""

    household: Household
    dwelling_id: str
    base: Base | None
    updated_at: str
    updated_by: str | None


@dataclass(frozen=True)
class IncomingDwelling:
    """One dwelling row of a payload with its visits (its households are separate rows)."""

    dwelling: Dwelling
    base: Base | None
    updated_at: str


@dataclass(frozen=True)
class Invalid:
    """A row that could not be read; kept for the review queue with what was wrong."""

    record_type: str
    record_id: str
    area: str
    detail: str
    row: Any


@dataclass(frozen=True)
class Decision:
    """A supervisor's approval or return of one household revision (with a coded reason)."""

    household_id: str
    revision: int
    action: str
    reason: str | None
    note: str | None
    rules: str | None
    who: str
    at: str


@dataclass(frozen=True)
class AreaStateRow:
    """An area's status as its sender last changed it: the change's number and the reason of a
    reopening."""

    code: str
    status: AreaStatus
    rev: int
    reason: ReopenReason | None


@dataclass(frozen=True)
class AuditHead:
    """The sender's audit head (last entry's number and hash) and, for the entries it anchored
    upstream before, their hashes now: a rewrite of anchored history shows as a difference."""

    seq: int
    hash: str
    earlier: tuple[tuple[int, str], ...] = ()


@dataclass
class Records:
    """The decoded records of a payload."""

    dwellings: list[IncomingDwelling] = field(default_factory=list)
    households: list[IncomingHousehold] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    enumerators: list[tuple[str, str]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    area_states: list[AreaStateRow] = field(default_factory=list)
    audit: AuditHead | None = None
    sessions: list[list[Any]] = field(default_factory=list)
    """Operator sessions (keying, verifying, entering door to door), as `SESSION_COLUMNS`."""

    @property
    def areas_touched(self) -> set[str]:
        """Areas of the dwelling rows (household rows name their dwelling, not an area)."""
        return {d.dwelling.area for d in self.dwellings} | {i.area for i in self.invalid
                                                           if i.area}


def _dt(value: datetime | None) -> str | None:
    return value.isoformat(timespec="minutes") if value else None


# -- writing -----------------------------------------------------------------------------------


def dwelling_row(d: Dwelling, base: Base | None, updated_at: str) -> list[Any]:
    return [d.id, d.area, d.structure, d.number, str(d.type), str(d.occupancy), d.locator,
            d.enumerator, d.revision, base.revision if base else None,
            base.digest if base else None, updated_at]


def visit_rows(d: Dwelling) -> list[list[Any]]:
    return [[d.id, v.attempt, _dt(v.at), str(v.outcome), _dt(v.callback_at), v.enumerator]
            for v in sorted(d.visits, key=lambda v: v.attempt)]


def household_row(h: Household, dwelling_id: str, base: Base | None, updated_at: str,
                  updated_by: str | None, cfg: SurveyConfig) -> list[Any]:
    return [h.id, dwelling_id, h.number, str(h.status), str(h.respondent), h.revision,
            h.seed.hex(), h.away, h.visitors, h.declared_total,
            base.revision if base else None, base.digest if base else None, updated_at,
            updated_by, *[h.residents.get(c, 0) for c in cfg.cells]]


def override_rows(record_id: str, overrides: Mapping[str, OverrideReason]) -> list[list[str]]:
    return [[record_id, k, str(v)] for k, v in sorted(overrides.items())]


def completed_rows(h: Household) -> list[list[Any]]:
    """The household's row of the `completed` list (none when it was never completed)."""
    return [] if h.completed_at is None else [[h.id, _dt(h.completed_at)]]


def area_row(a: Area) -> list[Any]:
    return [a.code, a.level, a.name, a.parent, a.expected_dwellings, a.enumerator]


def encode(body: Mapping[str, Any], cfg: SurveyConfig) -> bytes:
    """The payload bytes: compact JSON with the format and the survey config's digest."""
    out = {"format": PAYLOAD_FORMAT, "survey": cfg.digest(), **body}
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()


# -- reading -----------------------------------------------------------------------------------


def _kept(row: list[Any]) -> list[Any]:
    """An unreadable row as the review queue keeps it: numbers, booleans and null as they came,
    texts cut to KEPT_TEXT characters (characters that are not printable written as escapes),
    lists and objects replaced by a word. So what is kept is
    small and flat whatever the sender wrote (a huge or deeply nested value would otherwise not
    fit the queue, or fail to load from it later)."""
    out: list[Any] = []
    for v in row:
        if isinstance(v, str):
            text = v if len(v) <= KEPT_TEXT else v[:KEPT_TEXT] + "…"
            # What is not printable (terminal escapes, bidi controls) is kept as an escape.
            out.append("".join(c if c.isprintable() else c.encode("unicode_escape").decode()
                               for c in text))
        elif isinstance(v, (list, dict)) or (isinstance(v, int) and abs(v) >= 10**18):
            out.append(shown(v))
        else:
            out.append(v)
    return out


def _name(v: Any) -> str:
    """An area's name: the name of a place, 1 to 80 characters on one line."""
    text = as_text(v, "name", 80)
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise Bad(_("name holds control characters: {value}").format(value=shown(text)))
    return text


def _base(rev: Any, digest: Any) -> Base | None:
    if rev is None and digest is None:
        return None
    revision = as_int(rev, 1, 1 << 31, "base_rev")
    if not isinstance(digest, str) or len(digest) != 64:
        raise Bad(_("base_digest is not a SHA-256 digest"))
    return Base(revision, digest)


def _id_of(row: list[Any]) -> str:
    return row[0] if isinstance(row[0], str) and is_id(row[0]) else "?"


def decode(data: bytes, cfg: SurveyConfig) -> Records:
    """Read payload bytes into records. Raises PayloadError when the payload as a whole is not
    usable (not JSON, another survey config, another format); a bad row becomes `Invalid`."""
    body = read_body(data, cfg)
    out = Records()
    cap = cfg.max_household_size
    cells = cfg.cells
    n_cells = len(cells)

    overrides: dict[str, dict[str, OverrideReason]] = {}
    for row in rows_of(body, "overrides", len(OVERRIDE_COLUMNS)):
        try:
            rid = as_uuid(row[0], "record_id")
            rule = row[1]
            if not isinstance(rule, str) or not _WARNING_ID.fullmatch(rule):
                raise Bad(_("{what} is not a warning rule id (W and three digits)").format(
                    what=shown(rule)))
            overrides.setdefault(rid, {})[rule] = as_enum(row[2], OverrideReason, "reason")
        except Bad as bad:
            raise PayloadError(_("an override row is wrong: {why}").format(why=bad)) from bad

    completed: dict[str, datetime] = {}
    for row in rows_of(body, "completed", len(COMPLETED_COLUMNS)):
        try:
            completed[as_uuid(row[0], "household_id")] = as_time(row[1], "completed_at").replace(
                second=0, microsecond=0)
        except Bad as bad:
            raise PayloadError(_("a completion row is wrong: {why}").format(why=bad)) from bad

    visits: dict[str, list[Visit]] = {}
    bad_visits: dict[str, str] = {}
    for row in rows_of(body, "visits", len(VISIT_COLUMNS)):
        did = _id_of(row)
        try:
            visits.setdefault(as_uuid(row[0], "dwelling_id"), []).append(Visit(
                attempt=as_int(row[1], 1, 99, "attempt"), at=as_time(row[2], "at"),
                outcome=as_enum(row[3], Outcome, "outcome"),
                callback_at=as_opt_time(row[4], "callback_at"),
                enumerator=as_opt_code(row[5], "enumerator")))
        except Bad as bad:
            bad_visits.setdefault(did, str(bad))

    # What the tables' constraints would refuse is found here, per record, not by the database
    # for the whole file: a callback before its visit, an attempt number used twice.
    for did, vs in visits.items():
        attempts = [v.attempt for v in vs]
        if len(set(attempts)) != len(attempts):
            bad_visits.setdefault(did, _("an attempt number is used twice"))
        for v in vs:
            if v.callback_at is not None and v.callback_at <= v.at:
                bad_visits.setdefault(did, _("a callback is not after its visit"))
    seen: set[str] = set()
    for row in rows_of(body, "dwellings", len(DWELLING_COLUMNS)):
        rid = _id_of(row)
        area = row[1] if isinstance(row[1], str) else ""
        try:
            did = as_uuid(row[0], "id")
            if did in seen:
                raise Bad(_("the same record is in the file twice"))
            seen.add(did)
            if did in bad_visits:
                raise Bad(_("a visit is wrong: {why}").format(why=bad_visits[did]))
            locator = row[6]
            if locator is not None:
                locator = as_text(locator, "locator", LOCATOR_HARD_LIMIT)
            d = Dwelling(
                id=did, area=as_code(row[1], "area"),
                structure=as_int(row[2], 1, 9999, "structure"),
                number=as_int(row[3], 1, 9999, "number"),
                type=as_enum(row[4], DwellingType, "type"),
                occupancy=as_enum(row[5], Occupancy, "occupancy"), locator=locator,
                enumerator=as_opt_code(row[7], "enumerator"),
                revision=as_int(row[8], 1, 1 << 31, "revision"),
                visits=tuple(sorted(visits.get(did, []), key=lambda v: v.attempt)),
                overrides=overrides.get(did, {}))
            out.dwellings.append(IncomingDwelling(d, _base(row[9], row[10]), as_stamp(row[11])))
        except Bad as bad:
            out.invalid.append(Invalid("dwelling", rid, area if is_code(area) else "",
                                       str(bad), _kept(row)))

    width = len(HOUSEHOLD_COLUMNS) + n_cells
    for row in rows_of(body, "households", width):
        rid = _id_of(row)
        try:
            seed_hex = as_text(row[6], "seed", 32)
            try:
                seed = bytes.fromhex(seed_hex)
            except ValueError as exc:
                raise Bad(_("seed is not hexadecimal")) from exc
            if len(seed) != 16:
                raise Bad(_("seed is not 16 bytes"))
            counts = row[len(HOUSEHOLD_COLUMNS):]
            residents = {}
            for cell, n in zip(cells, counts, strict=True):
                if type(n) is not int or not 0 <= n <= cap:
                    as_int(n, 0, cap, f"{cell[0]}.{cell[1]}")  # raises with the message
                if n:
                    residents[cell] = n
            h = Household(
                id=as_uuid(row[0], "id"), number=as_int(row[2], 1, 99, "number"), seed=seed,
                status=as_enum(row[3], HouseholdStatus, "status"),
                respondent=as_enum(row[4], Respondent, "respondent"),
                revision=as_int(row[5], 1, 1 << 31, "revision"), residents=residents,
                away=as_int(row[7], 0, cap, "away"), visitors=as_int(row[8], 0, cap, "visitors"),
                declared_total=as_opt_int(row[9], 0, 10 * cap, "declared_total"),
                overrides=overrides.get(row[0], {}), completed_at=completed.get(row[0]))
            if h.usual_residents > cap:
                raise Bad(_("{count} usual residents is more than the survey's maximum of "
                             "{max}").format(count=h.usual_residents, max=cap))
            if h.id in seen:
                raise Bad(_("the same record is in the file twice"))
            seen.add(h.id)
            out.households.append(IncomingHousehold(
                h, as_uuid(row[1], "dwelling_id"), _base(row[10], row[11]), as_stamp(row[12]),
                as_opt_code(row[13], "updated_by")))
        except Bad as bad:
            out.invalid.append(Invalid("household", rid, "", str(bad), _kept(row)))

    for row in rows_of(body, "areas", len(AREA_COLUMNS)):
        try:
            out.areas.append(Area(
                code=as_code(row[0], "code"), level=as_code(row[1], "level"),
                name=_name(row[2]), parent=as_opt_code(row[3], "parent"),
                expected_dwellings=as_opt_int(row[4], 0, 1_000_000, "expected_dwellings"),
                enumerator=as_opt_code(row[5], "enumerator"), status=AreaStatus.OPEN))
        except Bad as bad:
            raise PayloadError(_("an area row is wrong: {why}").format(why=bad)) from bad

    closed = body.get("closed", [])
    if not isinstance(closed, list) or not all(isinstance(c, str) and is_code(c)
                                               for c in closed):
        raise PayloadError(_("its list of closed areas is wrong"))
    out.closed = closed
    pairs = body.get("enumerators", [])
    if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and is_code(p[0]) and is_code(p[1])
            for p in pairs):
        raise PayloadError(_("its list of area enumerators is wrong"))
    out.enumerators = [(p[0], p[1]) for p in pairs]
    states = body.get("area_states", [])
    if not isinstance(states, list):
        raise PayloadError(_("its list of area states is wrong"))
    for row in states:
        if (not isinstance(row, list) or len(row) != 4 or not is_code(row[0])
                or row[1] not in ("open", "closed") or type(row[2]) is not int
                or not 1 <= row[2] <= MAX_REVISION
                or not (row[3] is None or row[3] in {r.value for r in ReopenReason})):
            raise PayloadError(_("its list of area states is wrong"))
        out.area_states.append(AreaStateRow(row[0], AreaStatus(row[1]), row[2],
                                            ReopenReason(row[3]) if row[3] else None))
    if body.get("audit") is not None:
        out.audit = audit_head(body["audit"])

    for row in rows_of(body, "decisions", len(DECISION_COLUMNS)):
        try:
            action = row[2]
            if action not in ("approved", "returned"):
                raise Bad(_("action has an unknown code: {value}").format(value=shown(action)))
            reason = row[3]
            if reason is not None:
                reason = str(as_enum(reason, ReturnReason, "reason"))
            note = row[4] if row[4] is None else as_text(row[4], "note", 80)
            rules = row[5] if row[5] is None else as_text(row[5], "rules", 200)
            if rules is not None and not _RULE_LIST.fullmatch(rules):
                raise Bad(_("rules is not a list of rule ids: {value}").format(
                    value=shown(rules)))
            out.decisions.append(Decision(
                as_uuid(row[0], "household_id"), as_int(row[1], 1, 1 << 31, "revision"), action,
                reason, note, rules, as_code(row[6], "who"), as_stamp(row[7])))
        except Bad as bad:
            raise PayloadError(_("a decision row is wrong: {why}").format(why=bad)) from bad
    out.sessions = session_rows_of(body)
    return out


def receipt_rows(body: Mapping[str, Any]) -> list[tuple[str, str, int, str]]:
    """(record type, id, revision, digest) of a receipt payload."""
    rows = body.get("held")
    if not isinstance(rows, list):
        raise PayloadError(_("its list of held records is missing"))
    out = []
    for row in rows:
        if (not isinstance(row, list) or len(row) != 4 or row[0] not in ("dwelling", "household")
                or not isinstance(row[1], str) or not is_id(row[1]) or type(row[2]) is not int
                or not 1 <= row[2] <= MAX_REVISION
                or not isinstance(row[3], str) or len(row[3]) != 64):
            raise PayloadError(_("a row of its list of held records is wrong"))
        out.append((row[0], row[1], row[2], row[3]))
    return out


def _anchor(row: Any) -> tuple[int, str]:
    if (not isinstance(row, list) or len(row) != 2 or type(row[0]) is not int
            or not 1 <= row[0] <= MAX_REVISION or not isinstance(row[1], str)
            or len(row[1]) != 64 or not all(c in "0123456789abcdef" for c in row[1])):
        raise PayloadError(_("its audit anchors are wrong"))
    return row[0], row[1]


def audit_head(value: Any) -> AuditHead:
    """The audit head a bundle carries: {"seq": n, "hash": h, "earlier": [[seq, hash], ...]}."""
    if not isinstance(value, dict) or set(value) != {"seq", "hash", "earlier"}:
        raise PayloadError(_("its audit head is wrong"))
    seq, hash_ = _anchor([value["seq"], value["hash"]])
    earlier = value["earlier"]
    if not isinstance(earlier, list) or len(earlier) > MAX_ANCHORS:
        raise PayloadError(_("its audit anchors are wrong"))
    return AuditHead(seq, hash_, tuple(_anchor(r) for r in earlier))


def anchor_rows(body: Mapping[str, Any]) -> list[tuple[int, str]]:
    """The audit anchors a receipt confirms: [[seq, hash], ...] (none in older receipts)."""
    rows = body.get("anchors", [])
    if not isinstance(rows, list) or len(rows) > MAX_ANCHORS:
        raise PayloadError(_("its audit anchors are wrong"))
    return [_anchor(r) for r in rows]


def _not_json(name: str) -> Any:
    raise ValueError(name)


def read_body(data: bytes, cfg: SurveyConfig) -> dict[str, Any]:
    """A payload's JSON object, once its format and survey config are checked."""
    try:
        # NaN and Infinity are not JSON, and census never writes them.
        body = json.loads(data, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(_("its content is not valid JSON")) from exc
    if not isinstance(body, dict):
        raise PayloadError(_("its content is not a JSON object"))
    if body.get("format") != PAYLOAD_FORMAT:
        raise PayloadError(_("its content has format {found}; this version of census reads "
                             "format {expected}").format(found=shown(body.get("format")),
                                                         expected=PAYLOAD_FORMAT))
    if body.get("survey") != cfg.digest():
        raise PayloadError(_("it was made for another survey configuration (digest {found}, "
                             "this database uses {expected}); both levels must use the same "
                             "survey config").format(found=shown(body.get("survey")),
                                                     expected=cfg.digest()[:16]))
    return body

