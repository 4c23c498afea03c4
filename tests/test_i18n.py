"""Translation catalogs: complete, faithful to their templates, compiled, and used at run time.

When a test here fails after a change to a user-facing string, run
`python scripts/i18n.py extract`, translate what it reports in
census/locale/<lang>/LC_MESSAGES/census.po, then `python scripts/i18n.py compile`.
"""

from __future__ import annotations

import gettext
import importlib.util
import re
import string
import sys
from pathlib import Path
from types import ModuleType

import polib
import pytest

from census.i18n import N_, _, set_language
from census.validation.rules import RULES, Problem

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "census" / "locale"
LANGS = ("en", "fr", "es", "zh_CN")
FIX = "run `python scripts/i18n.py extract`, translate, then `python scripts/i18n.py compile`"


def _load_script() -> ModuleType:
    """scripts/i18n.py, the extractor, imported from the repository (it is not a package)."""
    name = "census_i18n_script"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


SCRIPT = _load_script()
SOURCE_MSGIDS: set[str] = SCRIPT.msgids(ROOT / "census")


def _po(lang: str) -> polib.POFile:
    path = LOCALE / lang / "LC_MESSAGES" / "census.po"
    assert path.exists(), f"no catalog for {lang} at {path}; {FIX} (extract --init {lang})"
    return polib.pofile(str(path))


def _live(po: polib.POFile) -> list[polib.POEntry]:
    return [e for e in po if not e.obsolete and e.msgid]


def _translations(entry: polib.POEntry) -> list[tuple[str, str]]:
    """(source text, translation) pairs of an entry: one, or one per plural form."""
    if entry.msgid_plural:
        return [(entry.msgid if i == 0 and len(entry.msgstr_plural) > 1 else entry.msgid_plural,
                 text) for i, text in sorted(entry.msgstr_plural.items())]
    return [(entry.msgid, entry.msgstr)]


def _fields(text: str) -> set[str]:
    """The replacement fields of a str.format template, as written: `{value!r}`, `{pct:.1f}`."""
    found = set()
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is not None:
            found.add("{" + name + (f"!{conversion}" if conversion else "")
                      + (f":{spec}" if spec else "") + "}")
    return found


# Written as-is in every language: `commands`, --options and CENSUS_* variables.
_VERBATIM = re.compile(r"`[^`]+`|(?<![\w-])--[a-z][a-z-]*|\bCENSUS_[A-Z_]+\b")


def test_the_source_has_messages() -> None:
    assert len(SOURCE_MSGIDS) > 100, "the ast walk found too few messages; is it broken?"
    assert "Cancel" in SOURCE_MSGIDS
    assert RULES["E001"].template in SOURCE_MSGIDS  # N_() templates too


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(lang: str) -> None:
    po = _po(lang)
    translated = {e.msgid for e in _live(po) if e.translated()}
    fuzzy = sorted(e.msgid for e in _live(po) if e.fuzzy)
    missing = sorted(SOURCE_MSGIDS - translated)
    assert not missing, (f"{lang}: {len(missing)} message(s) without a translation "
                         f"(fuzzy: {len(fuzzy)}); {FIX}:\n" + "\n".join(map(repr, missing)))


def test_english_catalog_is_the_source_text() -> None:
    wrong = [e.msgid for e in _live(_po("en"))
             if any(src != text for src, text in _translations(e))]
    assert not wrong, "en: msgstr differs from msgid:\n" + "\n".join(map(repr, wrong))


@pytest.mark.parametrize("lang", LANGS)
def test_headers(lang: str) -> None:
    meta = _po(lang).metadata
    assert meta.get("Language") == lang
    assert meta.get("Content-Type") == "text/plain; charset=UTF-8"
    expected = {"fr": "nplurals=2; plural=(n > 1);", "zh_CN": "nplurals=1; plural=0;"}
    assert meta.get("Plural-Forms") == expected.get(lang, "nplurals=2; plural=(n != 1);")


@pytest.mark.parametrize("lang", LANGS)
def test_translations_keep_every_placeholder(lang: str) -> None:
    bad = []
    for entry in _live(_po(lang)):
        for source, text in _translations(entry):
            if not text:
                continue
            try:
                got = _fields(text)
            except ValueError as exc:
                bad.append(f"{entry.msgid!r}: {text!r} is not a valid template ({exc})")
                continue
            if got != _fields(source):
                bad.append(f"{entry.msgid!r}: {text!r} has {sorted(got)}, "
                           f"not {sorted(_fields(source))}")
    assert not bad, f"{lang}: placeholders changed:\n" + "\n".join(bad)


@pytest.mark.parametrize("lang", LANGS)
def test_translations_keep_commands_and_symbols(lang: str) -> None:
    bad = []
    for entry in _live(_po(lang)):
        for source, text in _translations(entry):
            if not text:
                continue
            lost = [t for t in _VERBATIM.findall(source) if t not in text]
            first = source[:1]
            if first and not first.isalnum() and first not in "{'\"" and text[:1] != first:
                lost.append(f"leading {first!r}")
            if lost:
                bad.append(f"{entry.msgid!r}: {text!r} lost {lost}")
    assert not bad, f"{lang}: untranslatable parts changed:\n" + "\n".join(bad)


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_catalog_is_up_to_date(lang: str) -> None:
    mo = LOCALE / lang / "LC_MESSAGES" / "census.mo"
    assert mo.exists(), f"{mo} is missing; run `python scripts/i18n.py compile`"
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    po = _po(lang)
    plural = gettext.c2py(po.metadata["Plural-Forms"].split("plural=", 1)[1].rstrip("; "))
    stale = []
    for entry in _live(po):
        if not entry.translated():
            continue
        if entry.msgid_plural:
            for form, text in entry.msgstr_plural.items():
                n = next(n for n in range(1000) if plural(n) == form)
                if compiled.ngettext(entry.msgid, entry.msgid_plural, n) != text:
                    stale.append(f"{entry.msgid!r} (n={n})")
        elif compiled.gettext(entry.msgid) != entry.msgstr:
            stale.append(repr(entry.msgid))
    assert not stale, (f"{mo} is older than its .po; run `python scripts/i18n.py compile`:\n"
                       + "\n".join(stale))


def test_set_language_translates_and_falls_back_to_english() -> None:
    problem = Problem("E001", "residents.female.0-4", {"value": 120, "max": 40})
    template = RULES["E001"].template
    french = _po("fr").find(template)
    assert french is not None and french.msgstr
    try:
        set_language("fr")
        assert _("Cancel") == "Annuler"
        assert _(N_("Household")) == "Ménage"
        assert problem.message() == french.msgstr.format(value=120, max=40)
        set_language("zh_CN")
        assert _("Household") == "住户"
        set_language("xx")
        assert _("Cancel") == "Cancel"
        assert problem.message() == template.format(value=120, max=40)
    finally:
        set_language("en")
    assert _("Cancel") == "Cancel"
