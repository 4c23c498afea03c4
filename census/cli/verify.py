"""`census verify compare`: independent verification of keyed paper forms."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import click

from census.cli.common import (
    CensusGroup,
    UserError,
    db_options,
    get_passphrase,
    json_option,
    open_store,
)
from census.domain.errors import CensusError
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
    import json

    from census.cli.export import area_codes
    from census.usecases.verify import compare_keyings

    phrase = get_passphrase(passphrase_file)
    other = get_passphrase(other_passphrase_file) if other_passphrase_file else phrase
    with ExitStack() as stack:
        a = stack.enter_context(open_store(first, None, phrase))
        try:
            b = stack.enter_context(open_store(second, None, other))
        except (UserError, CensusError) as exc:
            if other_passphrase_file is None:
                said = exc.message if isinstance(exc, UserError) else str(exc)
                raise UserError(_("{error} If {path} has a passphrase of its own, give it with "
                                  "--other-passphrase-file.").format(error=said, path=second)
                                ) from None
            raise
        forms = differ = 0
        results = compare_keyings(a, b, area_codes(areas))  # refusals before any output
        if as_json:
            click.echo('{"mismatches": [', nl=False)
        else:
            click.echo(_("first: {first}; second: {second}").format(first=first, second=second))
        for n, found in results:
            forms += n
            for m in found:
                if as_json:
                    click.echo(("," if differ else "") + "\n  " + json.dumps(
                        {"questionnaire": m.questionnaire, "area": m.area,
                         "structure": m.structure, "dwelling": m.dwelling,
                         "household": m.household, "field": m.field, "first": m.a,
                         "second": m.b}, ensure_ascii=False), nl=False)
                else:
                    if not differ:
                        click.echo(f"{_('questionnaire'):<26}{_('field'):<30}"
                                   f"{_('first'):<14}{_('second')}")
                    click.echo(f"{m.questionnaire:<26}{m.field:<30}"
                               f"{'' if m.a is None else m.a!s:<14}"
                               f"{'' if m.b is None else m.b}")
                differ += 1
    if as_json:
        click.echo(f'\n], "forms": {forms}}}')
    else:
        click.echo(_("{forms} compared; {fields} keyed differently.").format(
            forms=counted("{n} form", "{n} forms", forms),
            fields=counted("{n} field", "{n} fields", differ)))
    if differ:
        raise SystemExit(1)


@verify.command("resolve")
@click.argument("questionnaire")
@click.argument("values", nargs=-1, required=True)
@db_options
def verify_resolve(questionnaire: str, values: tuple[str, ...], db: Path | None,
                   passphrase_file: Path | None) -> None:
    """Apply adjudicated values to the form QUESTIONNAIRE (AREA/STRUCTURE/DWELLING/HOUSEHOLD,
    as `census verify compare` lists it) in this database: VALUES are FIELD=VALUE with the
    fields as compare names them, e.g. residents:female:0-4=2 away=1 visit:1:outcome=refused.
    The form goes through the rules like any other; the change is audited ("adjudicated")."""
    from census.usecases.keying import resolve_at

    with open_store(db, passphrase_file) as store:
        _record, refused = resolve_at(store, questionnaire, values, store.user)
    if refused:
        raise UserError(_("{q}: not changed, the form would break a rule: {why}").format(
            q=questionnaire, why="; ".join(str(p) for p in refused)))
    click.echo(_("{q}: {n} applied and audited.").format(
        q=questionnaire, n=counted("{n} value", "{n} values", len(values))))


def register(group: click.Group) -> None:
    """Add the `verify` group to `group`."""
    group.add_command(verify)
