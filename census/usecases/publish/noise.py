"""Differential privacy in an export (issue 17): the noisy counts of each enumeration area,
kept from an earlier release or drawn now within the survey's budget, summed into the units;
and what metadata.json says of the privacy loss and the accuracy."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from census.domain.errors import CensusError
from census.i18n import _
from census.privacy import dp
from census.storage.dp import Noise, save_noise, spent, stored_noise
from census.storage.store import Store
from census.tabulate import release as rel

if TYPE_CHECKING:
    from census.usecases.publish.plan import Plan

DP_NOTICE = ("Cells of persons and households carry random noise with differential privacy "
             "(OpenDP's discrete Gaussian mechanism, zero-concentrated DP; the privacy unit is a "
             "person): each enumeration area's cells were made noisy once, clipped at 0, and "
             "every published value is a sum of those noisy cells, so every total (margin) is "
             "the sum of its cells and the levels agree. The privacy loss and each table's "
             "margin of error are given below. Counts of dwellings are exact.")


class NoiseError(CensusError):
    """A release the budget does not allow (plan turns it into an ExportError)."""


#: The share of the budget left that a release spends when no --rho is given.
DP_DEFAULT_SHARE = 0.25


def add_noise(store: Store, plan: Plan, leaf_sums: dict[str, rel.Sums]) -> None:
    """Noisy counts for every enumeration area of the units: those kept from an earlier draw
    when its exact data are unchanged, else drawn now (OpenDP) and kept at once, with their
    rho charged to each area's people, in one transaction that checks the budget first.
    Drawing is spending: a preview draws what the release will publish, and previewing again
    shows the same values (never a fresh draw to choose from). Then each unit's cells, the
    sums of its areas' noisy cells."""
    d = plan.config.disclosure
    tables = [t for t in plan.request.tables if t in rel.PROTECTED]
    leaves = sorted({leaf for areas in plan.unit_areas.values() for leaf in areas})
    with store.write():
        kept = {t: stored_noise(store, leaves, t) for t in tables}
        need = {t: [leaf for leaf in leaves
                    if kept[t].get(leaf) is None
                    or kept[t][leaf].digest != plan.area_digests[(leaf, t)]] for t in tables}
        drawing = [t for t in tables if need[t]]
        if drawing:
            needy = sorted({leaf for t in drawing for leaf in need[t]})
            already = spent(store, needy)
            left = d.dp_rho_total - max(already.values())
            rho = plan.request.rho if plan.request.rho is not None else DP_DEFAULT_SHARE * left
            share = rho / len(drawing)
            worst = max(needy, key=lambda leaf: already[leaf] + share * sum(
                leaf in need[t] for t in drawing))
            cost = share * sum(worst in need[t] for t in drawing)
            if left <= 1e-9 or already[worst] + cost > d.dp_rho_total * (1 + 1e-9):
                raise NoiseError(_(
                    "This release would spend rho {rho:.4g} on the people of {area}, who have "
                    "spent {spent:.4g} of the survey's budget ({total:g}, dp_rho_total); "
                    "{left:.4g} is left. Give a smaller --rho, or publish the tables already "
                    "made (they cost nothing more); nothing was exported.").format(
                    rho=cost, area=worst, spent=already[worst], total=d.dp_rho_total,
                    left=max(0.0, d.dp_rho_total - already[worst])))
            for t in drawing:
                add = dp.mechanism(t, share)  # one mechanism for every area of the table
                for leaf in need[t]:
                    exact = rel.exact_cells(t, plan.config, leaf_sums.get(leaf, rel.Sums()))
                    noise = Noise(plan.area_digests[(leaf, t)], share, tuple(add(exact)))
                    kept[t][leaf] = noise
                    plan.dp_new.append((leaf, t, noise))
            save_noise(store, plan.dp_new, f"R-{secrets.token_hex(4).upper()}")
    plan.dp_used = {t: [kept[t][leaf] for leaf in leaves] for t in tables}
    for unit, areas in plan.unit_areas.items():
        plan.noisy[unit] = {t: [sum(c) for c in zip(
            *(kept[t][leaf].cells for leaf in areas), strict=True)] for t in tables}


def privacy(plan: Plan) -> dict[str, Any]:
    """The privacy loss of the published values and each table's accuracy: the rho of the
    noise they were made from (the largest, per table, over the areas: the loss of the
    person least protected), the (epsilon, delta) it implies, and the 95 % margin of error
    of one area's cell (the smallest rho: the least accurate); a unit's cell summed from n
    area cells has a margin sqrt(n) times as large."""
    worst = {t: max(n.rho for n in used) for t, used in plan.dp_used.items() if used}
    least = {t: min(n.rho for n in used) for t, used in plan.dp_used.items() if used}
    rho = sum(worst.values())
    return {
        "unit_of_privacy": "person",
        "definition": "zero-concentrated differential privacy (zCDP)",
        "rho": round(rho, 6),
        "epsilon": round(dp.epsilon(rho), 4) if rho > 0 else 0.0,
        "delta": dp.DELTA,
        "tables": {t: {"rho": round(worst[t], 6), "sensitivity_l2": dp.SENSITIVITY[t],
                       "noise_scale": round(dp.scale(t, least[t]), 4),
                       "margin_of_error_95_area_cell": round(dp.margin95(t, least[t]), 3)}
                   for t in worst},
    }


