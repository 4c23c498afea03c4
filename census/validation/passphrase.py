"""The passphrase policy for every database but the demo: long enough, and not easy to guess.

Guessability is zxcvbn's estimate (Dropbox's algorithm: common passwords, words, names, dates,
keyboard patterns, repeats and l33t substitutions, with their frequencies), which judges a
phrase as an attacker would try it rather than by character classes. A passphrase needs
MIN_LENGTH characters and a zxcvbn score of at least MIN_SCORE ("safely unguessable", about
10^8 guesses or more). A raw SQLCipher key (x'…' with 64 hex digits) is taken as it is: it is
a 256-bit key, not a phrase, for automated set-ups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from census.i18n import _

MIN_LENGTH = 12
MIN_SCORE = 3
_RAW_KEY = re.compile(r"x'[0-9A-Fa-f]{64}'")


def weak_passphrase(phrase: str, context: Iterable[str] = ()) -> str | None:
    """Why `phrase` may not protect a census database, or None if it may. `context`: words
    the phrase should not lean on (the user code, the file name, "census")."""
    if _RAW_KEY.fullmatch(phrase):
        return None
    advice = _("Use a phrase of four or five unrelated words, e.g. 'lantern mango river "
               "seventeen tin' (not this one).")
    if len(phrase) < MIN_LENGTH:
        return _("The passphrase has {count} characters; a census database needs at least "
                 "{minimum}, because anyone who copies the file can try passphrases as fast as "
                 "their computer allows. {advice}").format(count=len(phrase), minimum=MIN_LENGTH,
                                                         advice=advice)
    from zxcvbn import zxcvbn

    # zxcvbn refuses more than 72 characters; a longer phrase is judged by its first 72.
    score = zxcvbn(phrase[:72], user_inputs=["census", *context])["score"]
    if score < MIN_SCORE:
        return _("The passphrase is too easy to guess: it is a common password, or close to "
                 "one (a word with digits, a name, a date, a keyboard pattern or a repeat). "
                 "{advice}").format(advice=advice)
    return None
