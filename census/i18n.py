"""Translation layer and message formatting: every user-facing string goes through `_()`
(gettext, domain "census"); values quoted in messages go through `show_value` (bounded, one line).

Catalogs live in `census/locale/<lang>/LC_MESSAGES/census.mo`. English is the source language,
so a missing catalog falls back to the text as written. Rule messages are stored as templates
marked with `N_()` and translated when shown, so one stored problem reads in the user's language.
"""

from __future__ import annotations

import gettext
import os
import reprlib
import unicodedata
from pathlib import Path

DOMAIN = "census"
LOCALE_DIR = Path(__file__).parent / "locale"

_translation: gettext.NullTranslations = gettext.NullTranslations()


def set_language(lang: str | None = None) -> None:
    """Choose the UI language: `lang` if given, else CENSUS_LANG, else the system locale."""
    global _translation
    wanted = lang or os.environ.get("CENSUS_LANG")
    languages = [wanted] if wanted else None
    _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=languages, fallback=True)


def _(message: str) -> str:
    """Translate `message` into the current language."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate with a plural form chosen by `n`."""
    return _translation.ngettext(singular, plural, n)


def counted(singular: str, plural: str, n: int) -> str:
    """A count with its words in the plural form `n` takes: `counted("{n} household",
    "{n} households", 1)` is `1 household` (extracted like ngettext)."""
    return ngettext(singular, plural, n).format(n=n)


def N_(message: str) -> str:
    """Mark `message` for translation without translating it now (templates kept as data)."""
    return message


#: The most characters of a value that a message quotes.
SHOWN = 40
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring = 2, 4, 4, SHOWN
_REPR.maxother = _REPR.maxlong = SHOWN


def show_value(value: object) -> str:
    """A value as a message quotes it: a text quoted (its control characters escaped), anything
    else as written; never more than about SHOWN characters, however long or deeply nested the
    value (a message echoes a line of input, which may be hostile)."""
    if isinstance(value, str):
        return repr(value[:SHOWN]) + ("…" if len(value) > SHOWN else "")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**12:
        return ("-" if value < 0 else "") + "10^12+"
    if value is None or isinstance(value, bool | int | float):
        return str(value)
    return _REPR.repr(value)


def field_key(key: object) -> str:
    """A key of the input (a field name, a sex or age band code, a rule id) as a field path
    shows it: as written when it is a short printable word, else quoted and cut like
    `show_value`.
    A hostile key never puts control characters or a megabyte into a path."""
    text = str(key)
    if 0 < len(text) <= SHOWN and text.isprintable() and not any(c in text for c in ".[]'"):
        return text
    return show_value(text)


class Quoted:
    """A value for a message template that writes it as {value!r}: its repr is `show_value`'s."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return show_value(self.value)


class Msg(str):
    """A phrase given to a message template (e.g. "a phone number"), translated when shown.

    Mark the literal with N_() so that it is extracted: `Msg(N_("a phone number"))`.
    """


#: Marks that never begin a line (Chinese and Japanese line-breaking rules, kinsoku).
NO_START = set("。，、；：！？）」』》〉】”’….,;:!?)]}%")
#: Marks that never end a line: they go down with what follows.
NO_END = set("（「『《〈【“‘([{")
#: Where a clause ends: the place to break a CJK line when the line is well filled.
CLAUSE_END = set("。，、；：！？）")


def cell_width(text: str) -> int:
    """Columns `text` takes in a terminal (wide East Asian characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _wide(ch: str) -> bool:
    return cell_width(ch) == 2


def has_wide(text: str) -> bool:
    """True when `text` holds wide (CJK) characters, which are written without spaces."""
    return any(_wide(ch) for ch in text)


def _units(text: str) -> list[str]:
    """The pieces a line may be broken between: a wide character (with the closing marks after
    it and the opening marks before it), or a run of other characters up to a space."""
    units: list[str] = []
    for ch in text:
        glue = units and (ch in NO_START or units[-1][-1] in NO_END or (
            not _wide(ch) and not ch.isspace() and not _wide(units[-1][-1])
            and not units[-1][-1].isspace()) or (ch.isspace() and not _wide(units[-1][-1])))
        if glue:
            units[-1] += ch
        else:
            units.append(ch)
    return units


def _fold(unit: str, width: int) -> list[str]:
    """A piece longer than the line (a path, a long code) cut into lines of `width` cells."""
    pieces, piece = [], ""
    for ch in unit:
        if piece and cell_width(piece + ch) > width:
            pieces.append(piece)
            piece = ""
        piece += ch
    return [*pieces, piece]


def _mend(lines: list[str], width: int) -> list[str]:
    """Where a line begins with a closing mark or the one before ends with an opening mark, move
    characters down from the line before, as far as the lines still fit."""
    for i in range(len(lines) - 1):
        while (len(lines[i]) > 1 and lines[i + 1] and (
                lines[i + 1][0] in NO_START or lines[i][-1] in NO_END)
               and cell_width(lines[i][-1] + lines[i + 1]) <= width):
            lines[i], lines[i + 1] = lines[i][:-1], lines[i][-1] + lines[i + 1]
    return lines


def _phrase(units: list[str], closing: set[str]) -> str:
    """The units up to and including the first that ends with one of `closing`."""
    phrase = ""
    for unit in units:
        phrase += unit
        if unit[-1] in closing:
            break
    return phrase


def wrap_wide(text: str, width: int) -> list[str]:
    """Lines of at most `width` cells for text with CJK characters, broken where they read well:
    after a clause (a comma or full stop) or before a bracket once the line is two-thirds full,
    else between two characters; a closing mark never begins a line, an opening one never ends
    it."""
    width = max(2, width)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        units = [piece for unit in _units(paragraph) for piece in _fold(unit, width)]
        for i, unit in enumerate(units):
            full = cell_width(line) * 3 >= width * 2
            if line and (cell_width(line + unit.rstrip()) > width or (
                    full and unit[0] in NO_END
                    and cell_width(line + _phrase(units[i:], NO_START).rstrip()) > width)):
                lines.append(line.rstrip())
                line = unit.lstrip()
            else:
                line += unit
            if unit[-1] in CLAUSE_END and cell_width(line) * 3 >= width * 2 and cell_width(
                    line + _phrase(units[i + 1:], CLAUSE_END).rstrip()) > width:
                lines.append(line.rstrip())
                line = ""
        lines.append(line.rstrip())
    return _mend(lines, width)


def wrapped(text: str, columns: int = 80) -> list[str]:
    """`text` in lines of at most `columns` terminal columns (Chinese broken where it reads
    well, other text at spaces)."""
    import textwrap

    return wrap_wide(text, columns) if has_wide(text) else textwrap.wrap(text, columns)


#: Weekdays, Monday first, as short words (an appointment's day, a report's chart).
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
