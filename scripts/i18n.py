#!/usr/bin/env python3
"""Extract and compile census's translation catalogs (stdlib + polib).

    python scripts/i18n.py extract            # census/**/*.py -> census/locale/census.pot,
                                              # merged into every <lang>/LC_MESSAGES/census.po
    python scripts/i18n.py extract --init de  # ... and start a new catalog for "de"
    python scripts/i18n.py compile            # every census.po -> census.mo beside it

Messages are the literal first argument of `_()` and `N_()`, and the singular and plural of
`ngettext()`, found with `ast` (no import of census, so no Textual or SQLCipher needed).
A merge adds new msgids with an empty translation, marks msgids gone from the source obsolete
(`#~`), brings back an obsolete entry whose msgid returns, and keeps every translation. English
is the source language: its catalog is filled with msgstr = msgid.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "census"
LOCALE = PACKAGE / "locale"
DOMAIN = "census"
POT = LOCALE / f"{DOMAIN}.pot"
SOURCE_LANGUAGE = "en"

#: Plural-Forms of the languages a catalog can be started for with `extract --init`.
PLURAL_FORMS = {
    "en": "nplurals=2; plural=(n != 1);",
    "es": "nplurals=2; plural=(n != 1);",
    "fr": "nplurals=2; plural=(n > 1);",
    "pt": "nplurals=2; plural=(n != 1);",
    "pt_BR": "nplurals=2; plural=(n > 1);",
    "de": "nplurals=2; plural=(n != 1);",
    "ar": "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 "
          ": n%100>=11 ? 4 : 5);",
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
          "(n%100<10 || n%100>=20) ? 1 : 2);",
    "zh_CN": "nplurals=1; plural=0;",
}
# function name -> how many leading literal args
MARKERS = {"_": 1, "N_": 1, "ngettext": 2, "counted": 2}
DATE_FIELDS = ("POT-Creation-Date", "PO-Revision-Date")


@dataclass
class Message:
    """One msgid (with its plural, if any) and where it occurs."""

    msgid: str
    msgid_plural: str | None = None
    occurrences: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Skipped:
    """A marker call whose argument is not a string literal, so nothing could be extracted."""

    path: str
    line: int
    func: str


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def scan(source: str, relpath: str) -> tuple[list[tuple[str, str | None, int]], list[Skipped]]:
    """The (msgid, msgid_plural, line) of every marker call in one module's source."""
    found: list[tuple[str, str | None, int]] = []
    skipped: list[Skipped] = []
    for node in ast.walk(ast.parse(source, relpath)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in MARKERS):
            continue
        want = MARKERS[node.func.id]
        args = [_literal(a) for a in node.args[:want]]
        if len(args) < want or any(a is None for a in args):
            skipped.append(Skipped(relpath, node.lineno, node.func.id))
            continue
        msgid = args[0]
        assert msgid is not None
        found.append((msgid, args[1] if want == 2 else None, node.lineno))
    found.sort(key=lambda item: item[2])
    return found, skipped


def extract_messages(package: Path = PACKAGE) -> tuple[list[Message], list[Skipped]]:
    """Every message of the package, in order of first occurrence (file, then line)."""
    messages: dict[str, Message] = {}
    skipped: list[Skipped] = []
    base = package.parent
    for path in sorted(package.rglob("*.py")):
        relpath = path.relative_to(base).as_posix()
        found, missed = scan(path.read_text(encoding="utf-8"), relpath)
        skipped += missed
        for msgid, plural, line in found:
            if msgid == "":
                skipped.append(Skipped(relpath, line, "empty msgid"))
                continue
            message = messages.setdefault(msgid, Message(msgid, plural))
            if plural is not None and message.msgid_plural is None:
                message.msgid_plural = plural
            # File names only: line numbers would churn the catalogs on every code edit.
            if (relpath, "") not in message.occurrences:
                message.occurrences.append((relpath, ""))  # type: ignore[arg-type]
    return list(messages.values()), skipped


def msgids(package: Path = PACKAGE) -> set[str]:
    """Just the msgids (what a catalog must translate)."""
    return {m.msgid for m in extract_messages(package)[0]}


def _flags(message: Message) -> list[str]:
    texts = [message.msgid] + ([message.msgid_plural] if message.msgid_plural else [])
    return ["python-brace-format"] if any("{" in t for t in texts) else []


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M+0000")


def _metadata(lang: str | None) -> dict[str, str]:
    meta = {
        "Project-Id-Version": "census",
        "Report-Msgid-Bugs-To": "",
        "POT-Creation-Date": _now(),
        "PO-Revision-Date": _now() if lang else "YEAR-MO-DA HO:MI+ZONE",
        "Last-Translator": "",
        "Language-Team": "",
        "Language": lang or "",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    if lang:
        meta["Plural-Forms"] = PLURAL_FORMS.get(lang, "nplurals=2; plural=(n != 1);")
    return meta


def build_pot(messages: Iterable[Message]) -> polib.POFile:
    pot = polib.POFile(wrapwidth=100)
    pot.metadata = _metadata(None)
    for m in messages:
        entry = polib.POEntry(msgid=m.msgid, msgstr="", occurrences=list(m.occurrences),
                              flags=_flags(m))
        if m.msgid_plural is not None:
            entry.msgid_plural = m.msgid_plural
            entry.msgstr_plural = {0: "", 1: ""}
        pot.append(entry)
    return pot


def nplurals(po: polib.POFile) -> int:
    forms = po.metadata.get("Plural-Forms", "nplurals=2;")
    for part in forms.split(";"):
        key, _sep, value = part.partition("=")
        if key.strip() == "nplurals":
            return int(value.strip())
    return 2


def merge(po: polib.POFile, pot: polib.POFile, lang: str) -> None:
    """Bring `po` up to the template: same msgids in the template's order, translations kept."""
    old = {(e.msgctxt, e.msgid): e for e in po}
    n = nplurals(po)
    merged: list[polib.POEntry] = []
    for ref in pot:
        entry = old.pop((ref.msgctxt, ref.msgid), None)
        if entry is None:
            entry = polib.POEntry(msgid=ref.msgid, msgstr="")
        entry.obsolete = False
        entry.occurrences = list(ref.occurrences)
        entry.flags = [f for f in entry.flags if f == "fuzzy"] + list(ref.flags)
        if ref.msgid_plural:
            entry.msgid_plural = ref.msgid_plural
            entry.msgstr = ""
            entry.msgstr_plural = {i: entry.msgstr_plural.get(i, "") for i in range(n)}
        else:
            entry.msgid_plural = ""
            entry.msgstr_plural = {}
        if lang == SOURCE_LANGUAGE:
            _fill_source(entry, n)
        merged.append(entry)
    for entry in old.values():
        entry.obsolete = True
        entry.occurrences = []
        merged.append(entry)
    po[:] = merged


def _fill_source(entry: polib.POEntry, n: int) -> None:
    """The source language translates each message to itself."""
    if entry.msgid_plural:
        for i in range(n):
            if not entry.msgstr_plural.get(i):
                entry.msgstr_plural[i] = entry.msgid if i == 0 and n > 1 else entry.msgid_plural
    elif not entry.msgstr:
        entry.msgstr = entry.msgid


def _undated(text: str) -> str:
    return "\n".join(line for line in text.splitlines()
                     if not line.startswith(tuple(f'"{f}:' for f in DATE_FIELDS)))


def _write(catalog: polib.POFile, path: Path, date_field: str) -> bool:
    """Save `catalog` unless only its dates would change. True when the file was written."""
    if path.exists() and _undated(path.read_text(encoding="utf-8")) == _undated(str(catalog)):
        return False
    catalog.metadata[date_field] = _now()
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog.save(str(path))
    return True


def catalogs() -> list[Path]:
    return sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def extract(init: list[str], verbose: bool = False) -> int:
    messages, skipped = extract_messages()
    pot = build_pot(messages)
    wrote = _write(pot, POT, "POT-Creation-Date")
    print(f"{POT.relative_to(ROOT)}: {len(pot)} msgids" + (" (written)" if wrote else ""))
    for lang in init:
        path = LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if path.exists():
            print(f"{path.relative_to(ROOT)} exists; --init {lang} ignored", file=sys.stderr)
            continue
        po = polib.POFile(wrapwidth=100)
        po.metadata = _metadata(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        po.save(str(path))
    for path in catalogs():
        lang = path.parent.parent.name
        po = polib.pofile(str(path), wrapwidth=100)
        merge(po, pot, lang)
        wrote = _write(po, path, "PO-Revision-Date")
        untranslated = len(po.untranslated_entries()) + len(po.fuzzy_entries())
        obsolete = len(po.obsolete_entries())
        print(f"{path.relative_to(ROOT)}: {untranslated} to translate, {obsolete} obsolete"
              + (" (written)" if wrote else ""))
    if skipped and not verbose:
        print(f"{len(skipped)} marker calls with a non-literal argument (fine for lookups of "
              "N_() tables); -v lists them", file=sys.stderr)
    for s in sorted(skipped, key=lambda s: (s.path, s.line)) if verbose else []:
        print(f"{s.path}:{s.line}: {s.func}() of a non-literal: not extracted", file=sys.stderr)
    return 0


def compile_catalogs() -> int:
    for path in catalogs():
        po = polib.pofile(str(path))
        mo = path.with_suffix(".mo")
        po.save_as_mofile(str(mo))
        print(f"{mo.relative_to(ROOT)}: {len(po.translated_entries())} of "
              f"{len([e for e in po if not e.obsolete])} translated")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    ext = sub.add_parser("extract", help="source -> census.pot, merged into every census.po")
    ext.add_argument("--init", action="append", default=[], metavar="LANG",
                     help="also start a new catalog for LANG (repeatable)")
    ext.add_argument("-v", "--verbose", action="store_true",
                     help="list the marker calls whose argument is not a literal")
    sub.add_parser("compile", help="every census.po -> census.mo beside it")
    args = parser.parse_args(argv)
    if args.command == "extract":
        return extract(args.init, args.verbose)
    return compile_catalogs()


if __name__ == "__main__":
    sys.exit(main())
