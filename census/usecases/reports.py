"""What a write path did, as counts: an import or a save (per record kind), a merge (per
outcome), the returned forms of an assignment."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tally:
    """How many records were added, updated, left unchanged, or skipped as older."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0

    def bump(self, action: str) -> None:
        """Count one record by the verdict on it (new, update, unchanged, older)."""
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


@dataclass
class MergeReport:
    """What a merge did, per kind of outcome (counts of records)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0
    conflicts: int = 0
    duplicates: int = 0
    flagged: int = 0
    invalid: int = 0
    closed: list[str] = field(default_factory=list)

    def count(self, what: str) -> None:
        """One more record of an outcome (a verdict or a review kind)."""
        name = {"unchanged": "unchanged", "older": "older", "conflict": "conflicts",
                "duplicate": "duplicates", "invalid": "invalid", "flagged": "flagged"}.get(what)
        if name is not None:
            setattr(self, name, getattr(self, name) + 1)

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "older": self.older, "conflicts": self.conflicts, "duplicates": self.duplicates,
                "flagged": self.flagged, "invalid": self.invalid}


@dataclass
class ReturnedReport:
    """What the returned forms of an assignment did."""

    returned: int = 0
    kept_local: int = 0
