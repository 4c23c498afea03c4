"""Cell-key perturbation tables (ptables) in the ONS ``cell-key-perturbation`` format:
:mod:`.table` (the table and its lookup), :mod:`.ons_csv` (the CSV file format) and
:mod:`.generate` (the maximum-entropy generator).

Format
------
A CSV with exactly the columns ``pcv,ckey,pvalue`` and one row for every combination of
``pcv`` in ``1..max_pcv`` and ``ckey`` in ``0..ckey_range-1``. A cell with true count ``n``
and cell key ``k`` is published as ``n + pvalue(pcv(n), ckey(k))``.

Lookup (reproduces ``cell_key_perturbation.create_perturbed_table`` 3.1.0 exactly)
-----------------------------------------------------------------------------------
* ``ckey = sum of record keys mod (max ckey in the table + 1)``. The ONS package sums record
  keys (0..255 in its examples) and takes the sum modulo ``ptable["ckey"].max() + 1``.
  Our cell keys are already ``SUM(person keys) mod 2^32``; :func:`apply` takes that value
  (or any non-negative sum) modulo ``ckey_range``. When ``ckey_range`` divides ``2^32``
  (any power of two up to ``2^32``, e.g. the usual 256 or 4096), ``(S mod 2^32) mod
  ckey_range == S mod ckey_range``, so the result is identical to the ONS computation on the
  unreduced sum. For other ranges it is still consistent (same cell, same key, same value)
  but not equal to ``S mod ckey_range``.
* ``pcv = count`` if ``count <= 750``, else ``((count - 1) mod 250) + 501``: the ONS code
  hard-codes this and reuses rows 501..750 cyclically for large counts, *whatever the
  table's own max pcv is*. A ``(pcv, ckey)`` missing from the table (e.g. every count above
  ``max_pcv`` when ``max_pcv < 750``, and count 0 whose pcv 0 never has a row) gets pvalue 0,
  because the ONS code left-joins the table and fills missing pvalues with 0. Zero counts are
  therefore never perturbed. Tables meant for publication should have ``max_pcv >= 750``
  (the default of :func:`generate`), otherwise large counts go out unperturbed.

Generation (:func:`generate`)
-----------------------------
Follows the sdcTools ``ptable`` package (R, ``create_cnt_ptable``; see
``R/pt_create_pTable.R`` and ``R/pt_optim_entropy.R`` in github.com/sdcTools/ptable). For a
count ``i >= 1`` the allowed noise values are ``v`` in ``[-D, D]`` with ``i + v >= 0`` and
``i + v`` not in ``1..js``. Among distributions on those values with

* probabilities summing to 1 and mean 0 (equalities), and
* variance **at most** ``V`` (sdcTools' default ``optim = 1`` states the variance as an
  inequality, ``sum(v^2 p) - V <= 0``),

take the one of maximum entropy. By the KKT conditions it is ``p(v) ∝ exp(a v)`` if that
mean-0 distribution already has variance ``<= V``, else ``p(v) ∝ exp(a v + b v^2)`` with
variance exactly ``V``; ``(a, b)`` are found by damped Newton iteration on the convex dual
(``log Z(a, b) - b V``) to 1e-12 on the moments. For counts ``i >= D + js + 1`` the support
is the full symmetric ``[-D, D]``, the distribution is the same for all of them (sdcTools'
"symmetry" row ``ncat = D + js + 1``), and its variance is exactly ``V`` whenever
``V < D (D + 1) / 3`` (the variance of the uniform distribution on ``[-D, D]``).

If mean 0 and variance ``<= V`` cannot both hold on the allowed values (the smallest
mean-0 variance there is ``>= V``), the parameter set is refused with a ``ValueError`` --
sdcTools stops with "The variance parameter you set is too small!" in the same situation
(its nonlinear solver returns probabilities that do not sum to 1). Example: ``D=3, V=1,
js=2``: count 1 may only move by -1, +2 or +3, and any mean-0 mix of those has variance
``>= 2``.

sdcTools' default ``mono = TRUE`` constraint (probabilities non-decreasing over the allowed
``v <= 0`` towards ``v = 0``, imposed only when 0 is an allowed value) is honoured by pooling
adjacent violators: tied values share one probability, which keeps the exponential form with
``v`` and ``v^2`` replaced by their block averages; it binds for D=5, V=3, js=2 at count 4,
where ``p(-1) = p(0)``. Not reproduced: sdcTools' lower bound of 1e-8 on each probability
(the solution here is strictly positive anyway) and its optional ``pstay``.

The probabilities are then laid out on the ckeys: for each pcv the ckey range is split into
consecutive blocks, one per noise value in increasing order of ``v``. Block sizes are
``p(v) * ckey_range`` rounded down or up (each within 1 of the exact value, summing to
``ckey_range``); which ones go up is chosen to keep the table's mean noise as close to the
exact mean (0) as possible, then by largest remainder (see :func:`allocate`). For D=5, V=3,
js=2 with 256 ckeys every row's mean noise is exactly 0 and its variance within 0.05 of V.
"""
