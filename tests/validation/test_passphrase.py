"""The passphrase policy (issue 14): at least 12 characters, not easy to guess; raw keys as
they are."""

from __future__ import annotations

import pytest

from census.validation.passphrase import MIN_LENGTH, weak_passphrase
from tests.helpers import PASSPHRASE, RAW_KEY


@pytest.mark.parametrize("phrase", ["a", "demo", "12345678901", "x" * (MIN_LENGTH - 1)])
def test_short_passphrases_are_refused_with_the_count(phrase: str) -> None:
    why = weak_passphrase(phrase)
    assert why is not None and f"{len(phrase)} characters" in why and "at least 12" in why


@pytest.mark.parametrize("phrase", ["password1234", "qwertyuiop123", "aaaaaaaaaaaaaaaa",
                                    "123456789012", "iloveyou2026", "E001E001E001E001"])
def test_common_or_patterned_passphrases_are_refused(phrase: str) -> None:
    why = weak_passphrase(phrase, ["E001"])
    assert why is not None and "too easy to guess" in why and "words" in why


@pytest.mark.parametrize("phrase", [PASSPHRASE, "riverside-mango-lantern", RAW_KEY,
                                    "x'" + "0123456789abcdef" * 4 + "'"])
def test_good_passphrases_and_raw_keys_pass(phrase: str) -> None:
    assert weak_passphrase(phrase) is None


def test_a_long_passphrase_is_judged_not_crashed_on() -> None:
    """As found: zxcvbn raises ValueError past 72 characters, and `census init` or `census
    passphrase change` with a 106-character phrase ended in an internal error."""
    long = "the tide came in over the salt flats while seventeen herons watched " * 2
    assert len(long) > 72
    assert weak_passphrase(long) is None
    assert weak_passphrase("a" * 120) is not None  # a long repeat is still too easy
