"""Reading a perturbation table file (ONS format) that a user names: `census ptable check` and
`census export tables --ptable`. The table itself is census.privacy.ptable (pure); this is the
file around it, with its size limit and its messages."""

from __future__ import annotations

from pathlib import Path

from census.i18n import _
from census.privacy.ptable.ons_csv import read_ons_csv
from census.privacy.ptable.table import FILE_LIMIT, PTable


class PTableFileError(Exception):
    """The file cannot be used; the message names it and says why."""


def read_ptable(path: Path) -> PTable:
    """The perturbation table in `path` (refused unread over FILE_LIMIT bytes)."""
    try:
        size = path.stat().st_size
        if size > FILE_LIMIT:
            raise PTableFileError(_("{file} is {size} bytes; a perturbation table is at most "
                                    "{limit} bytes. Choose the table's CSV file.").format(
                file=path, size=size, limit=FILE_LIMIT))
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PTableFileError(_("Cannot read the perturbation table {path}: {error}.").format(
            path=path, error=exc.strerror or exc)) from None
    except UnicodeDecodeError:
        raise PTableFileError(_("The perturbation table {path} is not a UTF-8 text file.")
                              .format(path=path)) from None
    try:
        return read_ons_csv(text)
    except ValueError as exc:
        raise PTableFileError(_("The perturbation table {path} cannot be used: {error}. It must "
                                "be an ONS-format CSV (pcv,ckey,pvalue); `census ptable make` "
                                "writes one.").format(path=path, error=exc)) from None
