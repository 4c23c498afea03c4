"""`census verify compare`: independent verification of keyed paper forms."""

from __future__ import annotations

from pathlib import Path

import click

from census.cli.common import (
    CensusGroup,
    get_passphrase,
    json_option,
    open_store,
    print_json,
    table,
)
from census.i18n import _, counted


@click.group(cls=CensusGroup)
def verify() -> None:
    """Verify keyed paper forms: compare two clerks' keying of the same batch."""


@verify.command("compare")
@click.argument("first", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("second", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.option("--areas", "areas", multiple=True,
              help="Only these areas and those below them (codes, comma-separated).")
@click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="The first database's passphrase, from this file's first line (else "
                   "CENSUS_PASSPHRASE, else a prompt).")
@click.option("--other-passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="The second database's passphrase (default: the first one's).")
def verify_compare(first: Path, second: Path, as_json: bool, areas: tuple[str, ...],
                   passphrase_file: Path | None, other_passphrase_file: Path | None) -> None:
    """Compare the forms keyed in FIRST and SECOND (two clerks, the same paper batch), matched
    by questionnaire number (area/structure/dwelling/household), and list every field keyed
    differently. Exit status 1 when any differs."""
    from census.cli.export import area_codes
    from census.usecases.verify import compare_keyings

    phrase = get_passphrase(passphrase_file)
    other = get_passphrase(other_passphrase_file) if other_passphrase_file else phrase
    with open_store(first, None, phrase) as a, open_store(second, None, other) as b:
        done = compare_keyings(a, b, area_codes(areas))
    if as_json:
        print_json({"forms": done.forms, "mismatches": [
            {"questionnaire": m.questionnaire, "area": m.area, "structure": m.structure,
             "dwelling": m.dwelling, "household": m.household, "field": m.field,
             "first": m.a, "second": m.b} for m in done.mismatches]})
    else:
        if done.mismatches:
            table([_("questionnaire"), _("field"), str(first.name), str(second.name)],
                  [[m.questionnaire, m.field, "" if m.a is None else m.a,
                    "" if m.b is None else m.b] for m in done.mismatches])
        click.echo(_("{forms} compared; {fields} keyed differently.").format(
            forms=counted("{n} form", "{n} forms", done.forms),
            fields=counted("{n} field", "{n} fields", len(done.mismatches))))
    if done.mismatches:
        raise SystemExit(1)


def register(group: click.Group) -> None:
    """Add the `verify` group to `group`."""
    group.add_command(verify)
