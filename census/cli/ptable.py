"""`census ptable make | check`: perturbation tables for the cell key method."""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from census.cli.common import CensusGroup, UserError, json_option, print_json, table
from census.i18n import _


@click.group(cls=CensusGroup)
def ptable() -> None:
    """Perturbation tables for the cell key method (ONS format: pcv,ckey,pvalue)."""


@ptable.command("make")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The CSV file to write (must not exist).")
@click.option("--max-change", "D", default=5, show_default=True, type=int,
              help="D: the largest change to a count.")
@click.option("--variance", "V", default=3.0, show_default=True, type=float,
              help="V: the variance of the changes.")
@click.option("--threshold", "js", default=2, show_default=True, type=int,
              help="js: counts 1..js are never published.")
@click.option("--ckeys", default=256, show_default=True, type=click.IntRange(1, 65536),
              help="Number of cell key classes (a power of two keeps ONS compatibility).")
@click.option("--max-count", "max_pcv", default=750, show_default=True,
              type=click.IntRange(1, 5000),
              help="Rows for counts 1..this (ONS reuses 501..750 for larger counts).")
def ptable_make(out: Path, D: int, V: float, js: int, ckeys: int, max_pcv: int) -> None:
    """Make a maximum-entropy perturbation table (as sdcTools ptable does): for every count,
    changes of at most D, mean 0, variance V, never landing on 1..js; zeros stay zero."""
    from census.privacy.ptable.generate import check_parameters, generate
    from census.privacy.ptable.ons_csv import write_ons_csv
    from census.privacy.ptable.table import (
        ONS_PCV_LIMIT,
        ROW_LIMIT,
        floor_problem,
        publication_problem,
    )

    if ckeys * max_pcv > ROW_LIMIT:
        raise UserError(_("{ckeys} cell keys × {pcv} counts would make {rows:,} rows; at most "
                          "{limit:,} are allowed (256 or 4096 cell keys are usual).").format(
            ckeys=ckeys, pcv=max_pcv, rows=ckeys * max_pcv, limit=ROW_LIMIT))
    problem = check_parameters(D, V, js)
    if problem:
        raise UserError(_("These parameters cannot make a perturbation table: {problem}. The "
                          "defaults (D=5, V=3, js=2) work.").format(problem=problem))
    if out.exists():
        raise UserError(_("{out} already exists; give a new file name.").format(out=out))
    try:
        made = generate(D, V, js, max_pcv=max_pcv, ckey_range=ckeys)
    except ValueError as exc:
        raise UserError(_("These parameters cannot make a perturbation table: {problem}.")
                        .format(problem=exc)) from None
    # A short table (--max-count below 750) is for inspection: the export refuses it anyway;
    # the floor is checked on the counts it has.
    problem = publication_problem(made, js) if max_pcv >= ONS_PCV_LIMIT else \
        floor_problem(made, js, 1.0, 0.5)
    if problem:
        raise UserError(_("The table these parameters make would not protect published "
                          "tables: {problem}. Use more cell keys (256 or 4096) or other "
                          "parameters; nothing was written.").format(problem=problem))
    text = write_ons_csv(made)
    # A new, unpredictable temporary name (O_EXCL): a link planted at a fixed name such as
    # ".FILE.partial" would have the table written through it, over the file it points to.
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial",
                                dir=out.parent if str(out.parent) else ".")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        tmp.replace(out)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    click.echo(_("Wrote {out}: counts 1..{pcv} × {ckeys} cell keys ({rows} rows). Keep the "
                 "parameters private: they are never written into published files.")
               .format(out=out, pcv=max_pcv, ckeys=ckeys, rows=max_pcv * ckeys))


@ptable.command("check")
@json_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--threshold", "js", default=2, show_default=True, type=click.IntRange(0, 19),
              help="js: counts 1..js are never published (the survey's ckm_threshold).")
@click.option("--min-variance", default=1.0, show_default=True, type=click.FloatRange(0, 100),
              help="The floor: the smallest variance of a count's change (ckm_min_variance).")
@click.option("--max-unchanged", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="The floor: the largest share of cell keys that may leave a count "
                   "unchanged (ckm_max_unchanged).")
def ptable_check(as_json: bool, file: Path, js: int, min_variance: float,
                 max_unchanged: float) -> None:
    """Read a perturbation table and show what it does to small counts: the changes it can
    make, their mean and variance, whether any count lands on 1..js, and whether it meets the
    protection floor (exit status 1 if it would not protect published tables)."""
    from census.formats.ptable_file import PTableFileError, read_ptable
    from census.privacy.ptable.table import measure, probabilities, publication_problem

    try:
        found = read_ptable(file)
    except PTableFileError as exc:
        raise UserError(str(exc)) from None
    rows: list[dict[str, Any]] = []
    for pcv in range(1, min(found.max_pcv, 12) + 1):
        dist = probabilities(found, pcv)
        mean = math.fsum(v * p for v, p in dist.items())
        var = math.fsum((v - mean) ** 2 * p for v, p in dist.items())
        rows.append({"count": pcv, "changes": sorted(dist), "mean": round(mean, 4),
                     "variance": round(var, 4),
                     "smallest": min(pcv + v for v in dist if pcv + v > 0) if any(
                         pcv + v > 0 for v in dist) else 0})
    smallest = min((r["smallest"] for r in rows if r["smallest"]), default=0)
    floor = measure(found, js)
    problem = publication_problem(found, js, min_variance, max_unchanged)
    if as_json:
        print_json({"max_count": found.max_pcv, "ckeys": found.ckey_range, "rows": rows,
                    "smallest_published": smallest, "sha256": found.digest(),
                    "floor": None if floor is None else {
                        "min_variance": round(floor.min_variance, 6),
                        "min_variance_at": floor.variance_at,
                        "max_unchanged": round(floor.max_unchanged, 6),
                        "max_unchanged_at": floor.unchanged_at},
                    "protects": problem is None, "problem": problem})
        if problem:
            sys.exit(1)
        return
    click.echo(_("{file}: counts 1..{pcv}, {ckeys} cell keys; smallest non-zero count "
                 "published: {smallest}.").format(file=file, pcv=found.max_pcv,
                                                  ckeys=found.ckey_range, smallest=smallest))
    table([_("count"), _("changes"), _("mean"), _("variance")],
          [[r["count"], " ".join(f"{v:+d}" for v in r["changes"]), f"{r['mean']:.3f}",
            f"{r['variance']:.3f}"] for r in rows])
    if found.max_pcv < 750:
        click.echo(_("Note: counts above {pcv} are published unchanged with this table (the "
                     "ONS rule looks up rows 501..750 for them).").format(pcv=found.max_pcv))
    if floor is not None:
        click.echo(_("Counts above {js}: smallest variance of a change {var:.3f} (count "
                     "{at}); largest share of cell keys leaving a count unchanged {share:.1%} "
                     "(count {at2}).").format(js=js, var=floor.min_variance,
                                              at=floor.variance_at, share=floor.max_unchanged,
                                              at2=floor.unchanged_at))
    if problem:
        click.echo(_("It would not protect published tables: {problem}.").format(
            problem=problem))
        sys.exit(1)
    click.echo(_("It meets the protection floor (variance at least {var:g}, unchanged for at "
                 "most {share:.0%} of cell keys).").format(var=min_variance,
                                                          share=max_unchanged))


def register(group: click.Group) -> None:
    """Add the `ptable` group to `group`."""
    group.add_command(ptable)
