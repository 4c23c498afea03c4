"""Cell-key perturbation tables: generator, ONS lookup rule, ONS CSV format."""

from __future__ import annotations

import io
import itertools
import math
import random
import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from census.privacy.ptable.generate import allocate, generate, noise_distribution, support
from census.privacy.ptable.ons_csv import read_ons_csv, write_ons_csv
from census.privacy.ptable.table import KEY_MODULUS, PTable, apply, ons_ckey, ons_pcv, probabilities

D, V, JS = 5, 3.0, 2
_TABLE = generate(D, V, JS)  # for hypothesis tests, which cannot take function fixtures


@pytest.fixture(scope="module")
def table() -> PTable:
    return _TABLE


# ---------------------------------------------------------------- exact distributions


@pytest.mark.parametrize("count", range(1, 20))
def test_distribution_constraints(count: int) -> None:
    dist = noise_distribution(count, D, V, JS)
    assert math.isclose(math.fsum(dist.values()), 1.0, abs_tol=1e-12)
    assert all(p > 0 for p in dist.values())
    assert all(abs(v) <= D for v in dist)
    assert all(count + v >= 0 and not 1 <= count + v <= JS for v in dist)
    mean = math.fsum(v * p for v, p in dist.items())
    var = math.fsum(v * v * p for v, p in dist.items())
    # For D=5, V=3, js=2 the variance constraint binds at every count >= 1.
    assert abs(mean) < 1e-9
    assert abs(var - V) < 1e-9
    # sdcTools' mono constraint: non-decreasing towards 0 over v <= 0 (when 0 is allowed).
    if 0 in dist:
        left = [dist[v] for v in sorted(dist) if v <= 0]
        assert all(x <= y * (1 + 1e-9) for x, y in itertools.pairwise(left))


def test_zero_count_distribution() -> None:
    assert noise_distribution(0, D, V, JS) == {0: 1.0}


def test_symmetric_row_from_d_plus_js_plus_1() -> None:
    full = noise_distribution(D + JS + 1, D, V, JS)
    assert sorted(full) == list(range(-D, D + 1))
    for v in range(1, D + 1):
        assert math.isclose(full[v], full[-v], rel_tol=1e-9)
    assert noise_distribution(100, D, V, JS) == full


def test_mono_constraint_binds_at_count_4() -> None:
    # Without it the max-entropy solution has p(-1) > p(0) at count 4; sdcTools forbids it.
    dist = noise_distribution(4, D, V, JS)
    assert math.isclose(dist[-1], dist[0], rel_tol=1e-9)


def test_variance_is_an_upper_bound_like_sdctools() -> None:
    # V above the uniform variance D(D+1)/3 cannot be reached: sdcTools' constraint is
    # var <= V, so the uniform distribution comes out.
    dist = noise_distribution(20, 2, 10.0, 0)
    assert all(math.isclose(p, 0.2) for p in dist.values())


# ---------------------------------------------------------------- generated table


def test_table_shape(table: PTable) -> None:
    assert table.max_pcv == 750
    assert table.ckey_range == 256
    assert len(table.rows) == 750 * 256


def test_table_rows_respect_constraints(table: PTable) -> None:
    for pcv in range(1, table.max_pcv + 1):
        for v in table.row(pcv):
            assert abs(v) <= D
            assert pcv + v >= 0
            assert not 1 <= pcv + v <= JS


def test_table_rows_match_probabilities(table: PTable) -> None:
    for pcv in range(1, D + JS + 2):
        exact = noise_distribution(pcv, D, V, JS)
        got = probabilities(table, pcv)
        assert set(got) <= set(exact)
        for v, p in exact.items():
            # whole ckeys: each count within 2 of p * 256 (the floor or ceiling, or one key
            # more moved inwards to keep the variance within V)
            assert abs(got.get(v, 0.0) * 256 - p * 256) < 2
        # quantised to 1/256, the layout keeps the mean exactly 0 and the variance <= V
        # (issue 17: it was 3.05 for V = 3 at some counts, 1.53 for V = 1.5)
        assert math.fsum(v * p for v, p in got.items()) == 0
        variance = math.fsum(v * v * p for v, p in got.items())
        assert V - 0.1 < variance <= V
    assert table.row(D + JS + 1) == table.row(750)


def test_table_rows_are_sorted_blocks(table: PTable) -> None:
    row = table.row(1)
    assert list(row) == sorted(row)


def test_empirical_noise_over_random_keys(table: PTable) -> None:
    rng = random.Random(7)
    n = 100_000
    for count in (1, 2, 3, 4, 8, 1000):
        noise = [apply(table, count, rng.randrange(KEY_MODULUS)) - count for _ in range(n)]
        mean = math.fsum(noise) / n
        var = math.fsum(x * x for x in noise) / n - mean * mean
        # sd of the mean ~ sqrt(3 / 1e5) = 0.0055: 0.03 is > 5 sd. Variance: the table's
        # own variance is within 0.06 of V (whole ckeys); sampling sd ~ 0.02.
        assert abs(mean) < 0.03, count
        assert abs(var - V) < 0.15, count


@given(st.integers(min_value=0, max_value=10**6), st.integers(0, KEY_MODULUS - 1))
def test_apply_properties(count: int, key: int) -> None:
    table = _TABLE
    out = apply(table, count, key)
    if count == 0:
        assert out == 0
    assert out >= 0
    assert not 1 <= out <= JS
    assert abs(out - count) <= D
    assert apply(table, count, key) == out


def test_d_below_js_plus_1_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("D must be >= js + 1 (got D=2, js=2)")):
        generate(2, 3.0, 2)


def test_d3_v1_js2_refused_as_variance_too_small() -> None:
    with pytest.raises(ValueError, match="variance parameter is too small") as info:
        generate(3, 1.0, 2)
    assert "count 1" in str(info.value)
    assert "[-1, 2, 3]" in str(info.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 1.0, 0), "D (maximum noise) must be >= 1"),
        ((5, 0.0, 2), "V (noise variance) must be > 0"),
        ((5, -1.0, 2), "V (noise variance) must be > 0"),
        ((5, float("nan"), 2), "V must be a finite number"),
        ((5, 3.0, -1), "js (smallest published non-zero count is js+1) must be >= 0"),
    ],
)
def test_bad_parameters_refused(args: tuple[int, float, int], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        generate(*args)


def test_max_pcv_must_cover_symmetric_row() -> None:
    with pytest.raises(ValueError, match="max_pcv must be >= D \\+ js \\+ 1 = 8"):
        generate(5, 3.0, 2, max_pcv=7)
    small = generate(5, 3.0, 2, max_pcv=8, ckey_range=16)
    assert len(small.rows) == 8 * 16


@pytest.mark.parametrize(("d", "v", "js"), [(2, 1.0, 0), (8, 5.0, 3), (10, 20.0, 5), (3, 2.5, 2)])
def test_other_parameter_sets(d: int, v: float, js: int) -> None:
    for count in range(1, d + js + 2):
        dist = noise_distribution(count, d, v, js)
        assert abs(math.fsum(x * p for x, p in dist.items())) < 1e-9
        assert math.fsum(x * x * p for x, p in dist.items()) <= v + 1e-9
        assert set(dist) == set(support(count, d, js))


def test_allocate() -> None:
    assert sum(allocate([0.5, 0.25, 0.25], 7)) == 7
    assert allocate([1 / 3] * 3, 3) == [1, 1, 1]
    # exact 1.5, 3.5, 3.5, 1.5: plain largest remainder rounds up the first two (biased);
    # with the noise values given, the rounding that keeps the mean at 0 is chosen.
    probs = [0.15, 0.35, 0.35, 0.15]
    assert allocate(probs, 10) == [2, 4, 3, 1]
    counts = allocate(probs, 10, [-2, -1, 1, 2])
    assert sum(counts) == 10
    assert sum(v * c for v, c in zip([-2, -1, 1, 2], counts, strict=True)) == 0
    assert all(abs(c - p * 10) < 1 for c, p in zip(counts, probs, strict=True))


# ---------------------------------------------------------------- ONS lookup rule


def test_ons_pcv_rule() -> None:
    assert ons_pcv(0) == 0
    assert ons_pcv(1) == 1
    assert ons_pcv(750) == 750
    assert ons_pcv(751) == 501
    assert ons_pcv(1000) == 750
    assert ons_pcv(1001) == 501
    assert ons_pcv(1250) == 750


def test_ons_ckey_rule() -> None:
    assert ons_ckey(300, 256) == 44
    big = 17 * KEY_MODULUS + 1234
    assert ons_ckey(big % KEY_MODULUS, 256) == ons_ckey(big, 256)


def test_missing_rows_publish_unperturbed() -> None:
    tiny = PTable(max_pcv=1, ckey_range=2, rows={(1, 0): -1, (1, 1): 2})
    assert apply(tiny, 1, 0) == 0
    assert apply(tiny, 1, 3) == 3
    assert apply(tiny, 2, 0) == 2  # no row for pcv 2: pvalue 0, as in the ONS code
    assert apply(tiny, 0, 1) == 0


def test_apply_rejects_bad_input(table: PTable) -> None:
    with pytest.raises(ValueError, match="count must be >= 0"):
        apply(table, -1, 0)
    with pytest.raises(ValueError, match="ckey_sum must be >= 0"):
        apply(table, 1, -5)


# ---------------------------------------------------------------- CSV format


def test_round_trip(table: PTable) -> None:
    text = write_ons_csv(table)
    assert text.startswith("pcv,ckey,pvalue\n1,0,")
    back = read_ons_csv(text)
    assert back == table
    assert write_ons_csv(back) == text
    assert read_ons_csv(io.StringIO(text)) == table


def test_reads_pandas_style_quoted_header_and_crlf() -> None:
    text = '"pcv","ckey","pvalue"\r\n1,0,-1\r\n1,1,2\r\n2,0,0\r\n2,1,0\r\n'
    t = read_ons_csv(text)
    assert (t.max_pcv, t.ckey_range) == (2, 2)
    assert t.pvalue(1, 1) == 2


def _grid(lines: list[str], header: str = "pcv,ckey,pvalue") -> str:
    return "\n".join([header, *lines]) + "\n"


GOOD = ["1,0,-1", "1,1,2", "2,0,0", "2,1,1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty ptable"),
        (_grid(GOOD, "pcv,ckey"), "line 1: header must be exactly 'pcv,ckey,pvalue'"),
        (_grid(GOOD, "pcv,ckey"), "missing pvalue"),
        (_grid(GOOD, "pcv,key,pvalue"), "unexpected key"),
        (_grid(GOOD, "ckey,pcv,pvalue"), "wrong order"),
        (_grid(GOOD, "pcv,ckey,pvalue,extra"), "unexpected extra"),
        (_grid(["1,0,-1", "1,1"]), "line 3: expected 3 fields"),
        (_grid(["1,0,-1", "1,x,2"]), "line 3: column 'ckey' must be an integer, got 'x'"),
        (_grid(["1,0,-1", "1,1,2.5"]), "line 3: column 'pvalue' must be an integer"),
        (_grid(["1,0,-1", "1,1,2", "2,0,0", "2,1,1", "1,1,0"]), "line 6: duplicate row"),
        (_grid(["1,0,-1", "1,1,2", "2,0,0", "2,1,1", "1,1,0"]), "first on line 3"),
        (_grid(["1,0,-2", "1,1,2"]), "line 2: pcv + pvalue = 1 + -2 < 0"),
        (_grid(["1,0,-1", "1,1,2", "2,1,1"]), "missing rows: 1"),
        (_grid(["1,0,-1", "1,1,2", "2,1,1"]), "first (pcv=2, ckey=0)"),
        (_grid(["0,0,0", "1,0,0"]), "line 2: pcv must be >= 1"),
        (_grid(["1,-1,0"]), "line 2: ckey must be >= 0"),
        (_grid([]), "header but no rows"),
    ],
)
def test_malformed_csv(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        read_ons_csv(text)


def test_ptable_constructor_validates() -> None:
    with pytest.raises(ValueError, match="missing"):
        PTable(max_pcv=1, ckey_range=2, rows={(1, 0): 0})
    with pytest.raises(ValueError, match="< 0"):
        PTable(max_pcv=1, ckey_range=1, rows={(1, 0): -2})
    with pytest.raises(ValueError, match="outside"):
        PTable(max_pcv=1, ckey_range=1, rows={(1, 0): 0, (2, 0): 0})


def test_table_is_read_only(table: PTable) -> None:
    with pytest.raises(TypeError):
        table.rows[(1, 0)] = 5  # type: ignore[index]


# ---------------------------------------------------------------- cross-check with ONS


def test_matches_ons_package(table: PTable) -> None:
    ckp = pytest.importorskip("cell_key_perturbation.create_perturbed_table")
    pd = pytest.importorskip("pandas")
    rng = random.Random(42)
    sizes = [*range(1, 41), 0, 749, 750, 751, 755, 1000, 1001, 1600]
    records: list[dict[str, object]] = []
    for cell, size in enumerate(sizes):
        area, group = divmod(cell, 8)
        records.extend(
            {"area": f"A{area}", "group": f"G{group}", "record_key": rng.randrange(256)}
            for _ in range(size)
        )
    data = pd.DataFrame.from_records(records)
    ptable_df = pd.read_csv(io.StringIO(write_ons_csv(table)))
    out = ckp.create_perturbed_table(
        data=data,
        ptable=ptable_df,
        geog=["area"],
        tab_vars=["group"],
        record_key="record_key",
        threshold=0,
    )
    sums = data.groupby(["area", "group"])["record_key"].sum().to_dict()
    checked = 0
    for row in out.itertuples(index=False):
        count = int(row.pre_sdc_count)
        key_sum = int(sums.get((row.area, row.group), 0))
        ours = apply(table, count, key_sum)
        assert ours == int(row.count), (row.area, row.group, count)
        # our SQL gives the sum mod 2^32; same answer because 256 divides 2^32
        assert apply(table, count, key_sum % KEY_MODULUS) == ours
        checked += 1
    assert checked >= len(sizes) - 1


def test_core_imports_no_ui_or_storage() -> None:
    code = (
        "import sys, census.privacy; "
        "bad = [m for m in ('textual', 'sqlite_utils', 'sqlcipher3', 'numpy', 'pandas') "
        "if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_generated_table_equals_its_csv_and_has_a_content_digest() -> None:
    made = generate(5, 3.0, 2, max_pcv=40, ckey_range=64)
    again = read_ons_csv(write_ons_csv(made))
    assert again == made and again.digest() == made.digest()
    assert made.grid()[0] == (0,) * 64 and made.grid()[7][5] == made.pvalue(7, 5)
    other = generate(5, 3.0, 2, max_pcv=41, ckey_range=64)
    assert other.digest() != made.digest()



@pytest.mark.parametrize(("d", "v", "js"), [(5, 3.0, 2), (3, 1.5, 0), (4, 2.0, 1), (2, 1.0, 0),
                                            (5, 2.5, 1), (6, 4.0, 2)])
def test_every_generated_row_has_mean_0_and_variance_at_most_v(d: int, v: float,
                                                                js: int) -> None:
    """As found: rounding the probabilities to whole cell keys pushed the variance over V
    (1.53 for V = 1.5 at 256 keys)."""
    table = generate(d, v, js)
    for pcv in range(1, table.max_pcv + 1):
        row = table.grid()[pcv]
        assert sum(row) == 0, pcv
        assert sum(x * x for x in row) / len(row) <= v + 1e-12, pcv
