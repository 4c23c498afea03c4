"""Consistent random rounding to base 3 (RR3), driven by cell keys.

Stats NZ's RR3 rounds every count to a multiple of 3, up or down at random so that the
expected published value equals the true count. Here the "random" draw is the cell key
(``SUM(person keys) mod 2^32`` over the contributing records), so the same cell is rounded
the same way in every table that contains it.

With ``r = n mod 3`` and ``u = key / 2^32`` (uniform on [0, 1) for random person keys):

* ``r = 0``: publish ``n``;
* ``r = 1``: publish ``n - 1`` if ``u < 2/3`` else ``n + 2``;
* ``r = 2``: publish ``n + 1`` if ``u < 2/3`` else ``n - 2``.

Both branches are unbiased: for ``r = 1`` the noise is -1 w.p. 2/3 and +2 w.p. 1/3; for
``r = 2`` it is +1 w.p. 2/3 and -2 w.p. 1/3. Zero stays zero, ``n - 2`` for ``r = 2`` is
``>= 0``, so the result is never negative and never 1 or 2.
"""

from __future__ import annotations

KEY_MODULUS = 2**32
"""Cell keys are sums of person keys modulo this value."""

# u < 2/3  <=>  key / 2^32 < 2/3  <=>  3 * key < 2 * 2^32 (exact integer comparison).
_TWO_THIRDS_NUMERATOR = 2 * KEY_MODULUS


def _check_count(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"count must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"count must be >= 0, got {n}")


def _check_key(key: int) -> None:
    if isinstance(key, bool) or not isinstance(key, int):
        raise ValueError(f"cell key must be an int, got {type(key).__name__}")
    if not 0 <= key < KEY_MODULUS:
        raise ValueError(f"cell key must be in 0..2^32-1, got {key}")


def rr3(n: int, key: int) -> int:
    """Round count ``n`` to base 3 using cell key ``key`` (0 <= key < 2^32).

    Deterministic in ``(n, key)``; ``|rr3(n, key) - n| < 3``; the result is a multiple of 3
    and ``>= 0``; ``rr3(0, key) == 0``. The comparison ``u < 2/3`` is done in exact integer
    arithmetic (``3 * key < 2 * 2^32``), so no float rounding affects which way a cell goes.
    """
    _check_count(n)
    _check_key(key)
    return rr3_unchecked(n, key)


def rr3_unchecked(n: int, key: int) -> int:
    """:func:`rr3` without its argument checks, for callers that pass a count >= 0 and a key
    already reduced mod 2^32 (the export, once per published cell)."""
    r = n % 3
    if r == 0:
        return n
    low = 3 * key < _TWO_THIRDS_NUMERATOR
    if r == 1:
        return n - 1 if low else n + 2
    return n + 1 if low else n - 2
