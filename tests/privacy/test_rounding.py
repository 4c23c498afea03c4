"""RR3 by cell key: zero stays zero, multiples of 3, bounded, deterministic, unbiased."""

from __future__ import annotations

import random
import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from census.privacy.rounding import KEY_MODULUS, rr3

counts = st.integers(min_value=0, max_value=10**6)
keys = st.integers(min_value=0, max_value=KEY_MODULUS - 1)


@given(keys)
def test_zero_stays_zero(key: int) -> None:
    assert rr3(0, key) == 0


@given(counts, keys)
def test_multiple_of_three_close_and_non_negative(n: int, key: int) -> None:
    out = rr3(n, key)
    assert out % 3 == 0
    assert abs(out - n) < 3
    assert out >= 0
    assert out not in (1, 2)


@given(counts, keys)
def test_deterministic(n: int, key: int) -> None:
    assert rr3(n, key) == rr3(n, key)


def test_threshold_is_exactly_two_thirds() -> None:
    # u < 2/3 <=> 3*key < 2*2^32; the largest "low" key is floor((2*2^32 - 1) / 3).
    last_low = (2 * KEY_MODULUS - 1) // 3
    assert rr3(1, last_low) == 0
    assert rr3(1, last_low + 1) == 3
    assert rr3(2, last_low) == 3
    assert rr3(2, last_low + 1) == 0
    assert rr3(4, 0) == 3
    assert rr3(5, KEY_MODULUS - 1) == 3
    assert rr3(6, 12345) == 6


@pytest.mark.parametrize("n", [1, 2, 4, 5, 7, 8])
def test_exactly_unbiased(n: int) -> None:
    # Exact expectation over a uniform 32-bit key: the share of "low" keys is
    # ceil(2*2^32/3) / 2^32, within 2^-32 of 2/3.
    low = Fraction((2 * KEY_MODULUS + 2) // 3, KEY_MODULUS)
    lo, hi = (n - 1, n + 2) if n % 3 == 1 else (n + 1, n - 2)
    expected = low * lo + (1 - low) * hi
    assert abs(expected - n) <= Fraction(3, KEY_MODULUS)
    # and with exactly 2/3: E[rr3(1)] = 2/3*0 + 1/3*3 = 1, E[rr3(2)] = 2/3*3 + 1/3*0 = 2
    assert Fraction(2, 3) * lo + Fraction(1, 3) * hi == n


@pytest.mark.parametrize("n", [1, 2])
def test_empirically_unbiased(n: int) -> None:
    rng = random.Random(20240601 + n)
    trials = 100_000
    total = sum(rr3(n, rng.randrange(KEY_MODULUS)) - n for _ in range(trials))
    # Noise variance is 2 (-1/+2 or +1/-2 with 2/3, 1/3): sd of the mean ~ 0.0045.
    # 0.03 is more than 6 standard deviations.
    assert abs(total / trials) < 0.03


@pytest.mark.parametrize(
    ("n", "key", "message"),
    [
        (-1, 0, "count must be >= 0"),
        (1, -1, "cell key must be in 0..2^32-1"),
        (1, KEY_MODULUS, "cell key must be in 0..2^32-1"),
        (1.0, 0, "count must be an int"),
        (True, 0, "count must be an int"),
        (1, 0.5, "cell key must be an int"),
    ],
)
def test_invalid_inputs(n: object, key: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        rr3(n, key)  # type: ignore[arg-type]
