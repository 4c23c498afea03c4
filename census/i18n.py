"""Translation layer: every user-facing string goes through `_()` (gettext, domain "census").

Catalogs live in `census/locale/<lang>/LC_MESSAGES/census.mo`. English is the source language,
so a missing catalog falls back to the text as written. Rule messages are stored as templates
marked with `N_()` and translated when shown, so one stored problem reads in the user's language.
"""

from __future__ import annotations

import gettext
import os
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


def N_(message: str) -> str:
    """Mark `message` for translation without translating it now (templates kept as data)."""
    return message
