"""A bundle carries each household's first completion in a list of its own beside the household
rows: a file of an earlier version (without the list) still reads, and a wrong row refuses the
payload with a message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from census.domain.config import default_config
from census.domain.ids import new_id, new_seed
from census.domain.model import Household, HouseholdStatus
from census.formats.payload import PayloadError, completed_rows, decode, encode, household_row

CFG = default_config()


def body(h: Household, **extra: Any) -> bytes:
    return encode({"households": [household_row(h, new_id(), None, "2026-11-20T09:00:00Z",
                                                "E001", CFG)], **extra}, CFG)


def test_the_first_completion_travels_beside_the_household() -> None:
    h = Household(new_id(), 1, new_seed(), HouseholdStatus.COMPLETE,
                  residents={("female", "25-34"): 1}, completed_at=datetime(2026, 11, 19, 16, 40))
    assert completed_rows(h) == [[h.id, "2026-11-19T16:40"]]
    (got,) = decode(body(h, completed=completed_rows(h)), CFG).households
    assert got.household.completed_at == datetime(2026, 11, 19, 16, 40)
    (old,) = decode(body(h), CFG).households  # an earlier version's file
    assert old.household.completed_at is None
    assert completed_rows(old.household) == []


@pytest.mark.parametrize("row", [["not an id", "2026-11-19T16:40"], [None, "2026-11-19T16:40"],
                                 ["ID", "yesterday"], ["ID", "2026-11-19T16:40:00+02:00"],
                                 ["ID", 5]])
def test_a_wrong_completion_row_refuses_the_payload(row: list[Any]) -> None:
    h = Household(new_id(), 1, new_seed(), HouseholdStatus.COMPLETE,
                  residents={("female", "25-34"): 1})
    row = [h.id if v == "ID" else v for v in row]
    with pytest.raises(PayloadError, match="completion row is wrong"):
        decode(body(h, completed=[row]), CFG)
