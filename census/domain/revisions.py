"""Which version of a record wins: the one revision rule of every write path (DESIGN §5).

Records are keyed by id and carry a revision; their content is compared by digest. Whatever the
way in (a save in the app, a forms import, a bundle, a returned form, a review decision), the
same verdict is taken here:
- no stored record → NEW;
- the same revision → UNCHANGED when the content is the same, else CONFLICT;
- an older revision → OLDER (never a rollback);
- a newer revision → UPDATE when it may replace the stored one, else CONFLICT. This database's
  own user may always replace its own records (`sender` None); another device only a record
  still as that device sent it, or the version it edited from (`base`, a returned form).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    NEW = "new"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    OLDER = "older"
    CONFLICT = "conflict"

    @property
    def writes(self) -> bool:
        """True when the incoming version is to be written."""
        return self in (Verdict.NEW, Verdict.UPDATE)


@dataclass(frozen=True)
class Base:
    """The upstream version a record was edited from (a form returned for correction)."""

    revision: int
    digest: str


@dataclass(frozen=True)
class Held:
    """What the store holds of a record: its revision, its content digest, and who sent it as it
    stands (None when it was made or last edited here)."""

    revision: int
    digest: str
    source: str | None = None


def verdict(held: Held | None, revision: int, digest: str, *, sender: str | None = None,
            base: Base | None = None) -> Verdict:
    """The verdict on an incoming version (see the module docstring); `sender` is the device it
    comes from, None for this database's own user."""
    if held is None:
        return Verdict.NEW
    if revision == held.revision:
        return Verdict.UNCHANGED if digest == held.digest else Verdict.CONFLICT
    if revision < held.revision:
        return Verdict.OLDER
    if sender is None or held.source == sender:
        return Verdict.UPDATE
    if base is not None and (base.revision, base.digest) == (held.revision, held.digest):
        return Verdict.UPDATE
    return Verdict.CONFLICT
