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
