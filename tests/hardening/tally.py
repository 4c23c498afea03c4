"""Figures of the hardening suite: how many trials, cases and attacks ran (issue 6).

Tests add to the tally; the end of the pytest run prints it (tests/conftest.py), so the figures
that README quotes come from a run anyone can repeat."""

from __future__ import annotations

from collections import Counter

TALLY: Counter[str] = Counter()
NOTES: list[str] = []


def count(what: str, n: int = 1) -> None:
    """Add `n` to the figure named `what` (e.g. "fuzz: bundle payloads")."""
    TALLY[what] += n


def note(text: str) -> None:
    """A line of results to print at the end of the run (e.g. an attack's figures)."""
    NOTES.append(text)
