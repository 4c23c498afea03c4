"""`census keying batch|status` (each batch's verify setting, and how its verification
stands) and `census operators` (operator statistics): paper forms keyed at an office."""

from __future__ import annotations

import math
from pathlib import Path

import click

from census.cli.common import (
    CensusGroup,
    UserError,
    db_options,
    json_option,
    open_store,
    print_json,
    table,
)
from census.i18n import _


@click.group(cls=CensusGroup)
def keying() -> None:
    """Paper forms keyed at an office: each batch's verify setting and its state. The forms
    are keyed in the app (supervisor's dashboard: K)."""


def _hundredths(text: str, what: str) -> int:
    """A percentage as hundredths of a percent (`1` → 100, `2.5` → 250)."""
    try:
        number = float(text.strip().rstrip("%"))
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not 0 <= number <= 100:
        raise UserError(_("{what}: {text!r} is not a percentage from 0 to 100; write e.g. 10 "
                          "or 2.5.").format(what=what, text=text))
    return round(number * 100)


@keying.command("batch")
@click.argument("area")
@click.option("--every", type=click.IntRange(min=1, max=1_000_000),
              help="Verify every Nth form keyed in the batch (1: every form).")
@click.option("--share", help="Verify this percentage of the forms, drawn at random (e.g. 20).")
@click.option("--seed", type=click.IntRange(min=0, max=2**62), default=None,
              help="The draw's seed with --share (default: a new one, shown).")
@click.option("--tolerance", default="1",
              help="Keyer errors per 100 fields verified past which the batch is keyed again "
                   "in full (default 1).")
@click.option("--operator", help="Who sets it (an operator code; default: this database's "
                                 "user).")
@db_options
def keying_batch(area: str, every: int | None, share: str | None, seed: int | None,
                 tolerance: str, operator: str | None, db: Path | None,
                 passphrase_file: Path | None) -> None:
    """Set which forms of batch AREA (an enumeration area) are verified, and its tolerance.
    The setting is stored and logged in the audit; forms already chosen keep their choice."""
    import secrets

    from census.domain.keying import VerifySetting
    from census.usecases.keying import Keying

    if (every is None) == (share is None):
        raise UserError(_("Give either --every N or --share PERCENT."))
    hundredths = None if share is None else _hundredths(share, "--share")
    tol = _hundredths(tolerance, "--tolerance")
    if hundredths is not None and hundredths < 1:
        raise UserError(_("--share: give a percentage from 0.01 to 100."))
    setting = VerifySetting(every=every, share=hundredths,
                            seed=secrets.randbelow(10**6) if seed is None else seed,
                            tolerance=tol)
    with open_store(db, passphrase_file) as store:
        Keying(store, operator or store.user).set_batch(area, setting)
    click.echo(_("Batch {area}: {setting}.").format(area=area, setting=setting.describe()))


@keying.command("status")
@json_option
@db_options
def keying_status(as_json: bool, db: Path | None, passphrase_file: Path | None) -> None:
    """Each batch: its setting, forms keyed, marked for review, chosen and verified, the keyer
    errors found and whether it is to be keyed again in full."""
    from census.domain.keying import DEFAULT_SETTING, share_percent
    from census.storage.keying import batch_states

    with open_store(db, passphrase_file) as store:
        states = batch_states(store)
    rows = []
    for b in states:
        setting = (b.setting or DEFAULT_SETTING).describe() + ("" if b.setting else
                                                               " " + _("(default)"))
        rows.append({"area": b.area, "setting": setting, "keyed": b.keyed,
                     "flagged": b.flagged, "chosen": b.chosen, "verified": b.verified,
                     "keyer_errors": b.keyer_errors, "fields_verified": b.fields_verified,
                     "error_percent": share_percent(b.keyer_errors, b.fields_verified),
                     "rekey": b.rekey})
    if as_json:
        print_json({"batches": rows})
        return
    if not rows:
        click.echo(_("No batch keyed yet."))
        return
    table([_("Batch"), _("Keyed"), _("Marked"), _("Chosen"), _("Verified"), _("Keyer errors"),
           _("Error %"), _("Re-key"), _("Setting")],
          [[r["area"], r["keyed"], r["flagged"], r["chosen"], r["verified"], r["keyer_errors"],
            "—" if r["error_percent"] is None else r["error_percent"],
            _("yes") if r["rekey"] else _("no"), r["setting"]] for r in rows])


@click.command()
@json_option
@click.option("--operator", "operators", multiple=True, help="Only this operator (repeatable).")
@db_options
def operators(as_json: bool, operators: tuple[str, ...], db: Path | None,
              passphrase_file: Path | None) -> None:
    """Operator statistics per operator, day and mode: keying and verifying paper forms
    (keystrokes per hour, bad keystrokes per 1,000, keyer or verifier error %) and entering
    forms door to door (keys and minutes per form). Operators are codes, never names."""
    from census.usecases.operators import operator_figures

    with open_store(db, passphrase_file) as store:
        figures = operator_figures(store, list(operators) or None)
    if as_json:
        print_json({"operators": [f.as_json() for f in figures]})
        return
    if not figures:
        click.echo(_("No session logged yet."))
        return

    def shown(v: float | None) -> str:
        return "—" if v is None else f"{v:g}"

    table([_("Operator"), _("Day"), _("Mode"), _("Minutes"), _("Forms"), _("Keys"),
           _("Keys/h"), _("Bad/1000"), _("Verified"), _("Errors"), _("Error %"),
           _("Keys/form"), _("Min/form")],
          [[f.operator, f.day, f.mode, shown(f.minutes), f.forms, f.keystrokes,
            shown(f.keystrokes_per_hour), shown(f.errors_per_1000), f.fields_verified,
            f.errors, shown(f.error_percent), shown(f.keys_per_form),
            shown(f.minutes_per_form)] for f in figures])


def register(group: click.Group) -> None:
    """Add the `keying` group and `operators` to `group`."""
    group.add_command(keying)
    group.add_command(operators)
