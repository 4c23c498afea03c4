"""Fixtures of the command-line tests."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.helpers import RAW_KEY


@pytest.fixture
def runner() -> CliRunner:
    """click's runner, with the database key (raw: no derivation) in CENSUS_PASSPHRASE."""
    return CliRunner(env={"CENSUS_PASSPHRASE": RAW_KEY})
