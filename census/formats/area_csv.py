"""Reading an area register (CSV: code, parent, level, name, expected_dwellings, enumerator). Pure.

The register is taken whole or not at all: every problem is reported as `FILE:LINE: column:
message`, and areas come back ordered parents first so they can be stored in one pass.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from census.domain.config import SurveyConfig
from census.domain.ids import is_code
from census.domain.model import Area
from census.i18n import Quoted, _, field_key
from census.validation.engine import personal_data

COLUMNS = ("code", "parent", "level", "name", "expected_dwellings", "enumerator")
MAX_AREAS = 1_000_000


@dataclass(frozen=True)
class AreaProblem:
    """One problem of the register: where (line, column) and the message."""

    line: int
    column: str
    message: str

    def render(self, source: str) -> str:
        return f"{source}:{self.line}: {self.column}: {self.message}"


def read_areas(lines: Iterable[str], config: SurveyConfig, stored_levels: Mapping[str, str]
               ) -> tuple[list[Area], list[AreaProblem]]:
    """Parse the CSV text; `stored_levels` maps area codes already in the database to levels."""
    problems: list[AreaProblem] = []
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return [], [AreaProblem(1, "header", _("the file is empty; the first line must be: "
                                               "{columns}").format(columns=",".join(COLUMNS)))]
    except csv.Error as exc:
        return [], [AreaProblem(1, "header", _("not valid CSV: {error}").format(error=exc))]
    header = [h.strip().lstrip("\ufeff") for h in header]
    if tuple(header) != COLUMNS:
        missing = [c for c in COLUMNS if c not in header]
        unknown = [field_key(c) for c in header if c not in COLUMNS][:10]
        detail = []
        if missing:
            detail.append(_("missing {columns}").format(columns=", ".join(missing)))
        if unknown:
            detail.append(_("unknown {columns}").format(columns=", ".join(unknown)))
        if not detail:
            detail.append(_("columns in another order"))
        return [], [AreaProblem(1, "header", _("the header must be exactly {expected} ({detail})")
                                .format(expected=",".join(COLUMNS), detail="; ".join(detail)))]
    levels = list(config.levels)
    rows: dict[str, tuple[int, Area]] = {}
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(COLUMNS):
                problems.append(AreaProblem(line, "row", _(
                    "{found} columns instead of {expected}; quote names that contain commas")
                    .format(found=len(row), expected=len(COLUMNS))))
                continue
            if len(rows) >= MAX_AREAS:
                problems.append(AreaProblem(line, "row", _("more than {n} areas in one file")
                                            .format(n=MAX_AREAS)))
                break
            code, parent, level, name, expected, enumerator = (c.strip() for c in row)
            bad = len(problems)
            if not is_code(code):
                problems.append(AreaProblem(line, "code", _(
                    "{value!r} is not an area code (letters, digits, - and _, at most 40, e.g. "
                    "R01-D03-EA0042)").format(value=Quoted(code))))
            elif code in rows:
                problems.append(AreaProblem(line, "code", _(
                    "{value} is listed twice (first on line {first})").format(
                    value=code, first=rows[code][0])))
            if level not in levels:
                problems.append(AreaProblem(line, "level", _(
                    "{value!r} is not a level of this survey; use one of: {allowed}").format(
                    value=Quoted(level), allowed=", ".join(levels))))
            elif code in stored_levels and stored_levels[code] != level:
                problems.append(AreaProblem(line, "level", _(
                    "{value} is already registered as a {old}; an area's level cannot change "
                    "(register a new code instead)").format(value=code,
                                                           old=stored_levels[code])))
            found = personal_data(name)
            if not 0 < len(name) <= 80:
                problems.append(AreaProblem(line, "name", _(
                    "the place name must have 1 to 80 characters")))
            elif found == "control characters":
                problems.append(AreaProblem(line, "name", _(
                    "the name holds control characters (a line break, a tab...); write it on "
                    "one line")))
            elif found is not None:
                problems.append(AreaProblem(line, "name", _(
                    "the name looks like it holds a phone number or e-mail address; give the "
                    "name of the place only")))
            expected_n: int | None = None
            if expected:
                if not expected.isascii() or not expected.isdigit() or len(expected) > 7:
                    problems.append(AreaProblem(line, "expected_dwellings", _(
                        "{value!r} is not a whole number of dwellings (0 to 9999999), or leave it "
                        "empty").format(value=Quoted(expected))))
                else:
                    expected_n = int(expected)
            if parent and not is_code(parent):
                problems.append(AreaProblem(line, "parent", _(
                    "{value!r} is not an area code (letters, digits, - and _, at most 40, e.g. "
                    "R01-D03-EA0042)").format(value=Quoted(parent))))
            if enumerator and not is_code(enumerator):
                problems.append(AreaProblem(line, "enumerator", _(
                    "{value!r} is not an enumerator code (letters, digits, - and _, at most 40); "
                    "enumerators are codes, never names").format(value=Quoted(enumerator))))
            if len(problems) == bad:
                rows[code] = (line, Area(code=code, level=level, name=name,
                                         parent=parent or None, expected_dwellings=expected_n,
                                         enumerator=enumerator or None))
    except csv.Error as exc:
        problems.append(AreaProblem(line + 1, "row", _("not valid CSV: {error}").format(
            error=exc)))
    for line, area in rows.values():
        depth = levels.index(area.level)
        if area.parent is None:
            if depth != 0:
                problems.append(AreaProblem(line, "parent", _(
                    "a {level} needs a parent {above}").format(level=area.level,
                                                               above=levels[depth - 1])))
            continue
        if depth == 0:
            problems.append(AreaProblem(line, "parent", _(
                "a {level} is the top level and has no parent; leave parent empty").format(
                level=area.level)))
            continue
        parent_level = rows[area.parent][1].level if area.parent in rows else stored_levels.get(
            area.parent)
        if parent_level is None:
            problems.append(AreaProblem(line, "parent", _(
                "{value} is not in this file or the database; add the parent area first")
                .format(value=area.parent)))
        elif parent_level != levels[depth - 1]:
            problems.append(AreaProblem(line, "parent", _(
                "the parent of a {level} must be a {above}, but {value} is a {found}").format(
                level=area.level, above=levels[depth - 1], value=area.parent,
                found=parent_level)))
    if problems:
        return [], sorted(problems, key=lambda p: p.line)
    ordered = sorted((a for _line, a in rows.values()), key=lambda a: levels.index(a.level))
    return ordered, []


def write_areas(areas: Iterable[Area]) -> str:
    """The register as CSV text that `read_areas` takes back (the same columns; an office
    hands it to the districts, or a district's to the office)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for a in areas:
        w.writerow([a.code, a.parent or "", a.level, a.name,
                    "" if a.expected_dwellings is None else a.expected_dwellings,
                    a.enumerator or ""])
    return out.getvalue()
