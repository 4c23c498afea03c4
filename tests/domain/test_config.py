"""parse_config: the built-in default, refusals with meaningful messages, canonical JSON."""

from __future__ import annotations

import pytest

from census.domain.config import (
    DEFAULT_CONFIG_TOML,
    LOCATOR_HARD_LIMIT,
    AgeBand,
    Category,
    ConfigError,
    SurveyConfig,
    default_config,
    parse_age_bands,
    parse_config,
)


def bands_toml(bands: list[str], adult_age: int | None = None) -> str:
    items = ", ".join(f'"{b}"' for b in bands)
    text = f"[persons]\nage_bands = [{items}]\n"
    if adult_age is not None:
        text += f"[rules]\nadult_age = {adult_age}\n"
    return text


def test_builtin_default_parses() -> None:
    cfg = parse_config(DEFAULT_CONFIG_TOML, "built-in")
    assert cfg.name == "Census 2026 (demo configuration)"
    assert cfg.levels == ("region", "district", "ea")
    assert cfg.sexes == (Category("female", "Female"), Category("male", "Male"))
    assert [b.code for b in cfg.age_bands] == [
        "0-4", "5-14", "15-24", "25-34", "35-44", "45-54", "55-64", "65+"]
    assert cfg.age_bands[0] == AgeBand("0-4", 0, 4)
    assert cfg.age_bands[-1] == AgeBand("65+", 65, None)
    assert cfg.max_household_size == 60
    assert cfg.rules.large_household == 15
    assert cfg.rules.adult_age == 15
    assert cfg.rules.max_callbacks_without_contact == 3
    assert cfg.rules.locator_max_length == LOCATOR_HARD_LIMIT
    assert len(cfg.cells) == 2 * 8
    assert cfg.cells[0] == ("female", "0-4")
    assert cfg.cells[-1] == ("male", "65+")
    assert default_config() == cfg


def test_empty_text_means_the_default() -> None:
    assert parse_config("") == default_config()


def test_partial_config_overrides_only_given_keys() -> None:
    cfg = parse_config('[survey]\nname = "Pilot"\n[rules]\nlarge_household = 20\n')
    assert cfg.name == "Pilot"
    assert cfg.rules.large_household == 20
    assert cfg.rules.adult_age == 15
    assert cfg.age_bands == default_config().age_bands


def test_band_contains() -> None:
    band = AgeBand("5-14", 5, 14)
    assert band.contains(5) and band.contains(14)
    assert not band.contains(4) and not band.contains(15)
    assert AgeBand("65+", 65, None).contains(120)


def test_unknown_section_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown section \[household\]") as exc:
        parse_config("[household]\nsize = 3\n", "my.toml")
    assert "my.toml" in str(exc.value)
    assert "persons" in str(exc.value)  # lists the allowed sections


def test_unknown_key_refused() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config("[rules]\nlarge_houshold = 12\n")
    message = str(exc.value)
    assert "large_houshold" in message
    assert "[rules]" in message
    assert "large_household" in message  # the allowed keys are listed


def test_section_that_is_not_a_table_refused() -> None:
    with pytest.raises(ConfigError, match=r"\[rules\] must be a table"):
        parse_config('rules = "none"\n')


def test_invalid_toml_refused() -> None:
    with pytest.raises(ConfigError, match="not valid TOML") as exc:
        parse_config("[persons\nage_bands = 3", "bad.toml")
    assert "bad.toml" in str(exc.value)


def test_age_band_gap_refused() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(bands_toml(["0-4", "6-14", "15+"]))
    message = str(exc.value)
    assert "uncovered" in message
    assert "5-5" in message  # the missing ages
    assert "'0-4'" in message and "'6-14'" in message


def test_first_band_not_from_zero_refused() -> None:
    with pytest.raises(ConfigError, match="uncovered") as exc:
        parse_config(bands_toml(["1-14", "15+"]))
    assert "0-0" in str(exc.value)


def test_age_band_overlap_refused() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(bands_toml(["0-4", "4-14", "15+"]))
    message = str(exc.value)
    assert "overlaps" in message
    assert "'4-14'" in message and "'0-4'" in message
    assert "at 5" in message  # where the band should start


def test_open_band_not_last_refused() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(bands_toml(["0-4", "5+", "15+"]))
    message = str(exc.value)
    assert "open-ended" in message
    assert "'5+'" in message


def test_last_band_not_open_ended_refused() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(bands_toml(["0-4", "5-14", "15-99"]))
    message = str(exc.value)
    assert "last age band must be open-ended" in message


@pytest.mark.parametrize("band", ["0_4", "a-b", "0-", "-4", "0 - 4", "0-4-8", "1000-2000",
                                  "65 +", "", "+"])
def test_malformed_band_string_refused(band: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(bands_toml([band, "65+"]))
    assert repr(band) in str(exc.value)
    assert "is not of the form" in str(exc.value)


def test_band_that_is_not_a_string_refused() -> None:
    with pytest.raises(ConfigError, match="is not of the form"):
        parse_config("[persons]\nage_bands = [0, \"1+\"]\n")


def test_band_ending_before_it_starts_refused() -> None:
    with pytest.raises(ConfigError, match="ends before it starts") as exc:
        parse_config(bands_toml(["0-4", "14-5", "15+"]))
    assert "'14-5'" in str(exc.value)


@pytest.mark.parametrize("value", ["[]", '"0-4"', "3"])
def test_age_bands_not_a_nonempty_list_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="non-empty list"):
        parse_config(f"[persons]\nage_bands = {value}\n")


def test_adult_age_not_at_band_start_refused() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config("[rules]\nadult_age = 18\n")
    message = str(exc.value)
    assert "adult_age 18" in message
    assert "0, 5, 15, 25" in message  # the possible starts are listed


def test_adult_age_at_band_start_accepted() -> None:
    cfg = parse_config(bands_toml(["0-17", "18-64", "65+"], adult_age=18))
    assert cfg.rules.adult_age == 18
    assert [(b.low, b.high) for b in cfg.age_bands] == [(0, 17), (18, 64), (65, None)]


def test_single_open_band_accepted() -> None:
    assert parse_age_bands(["0+"], "x") == (AgeBand("0+", 0, None),)


@pytest.mark.parametrize(("toml", "needle"), [
    ("[persons]\nmax_household_size = 0\n", "max_household_size"),
    ("[persons]\nmax_household_size = true\n", "max_household_size"),
    ("[persons]\nmax_household_size = 501\n", "max_household_size"),
    ("[rules]\nlarge_household = 61\n", "large_household"),
    ("[rules]\nlocator_max_length = 61\n", "locator_max_length"),
    ("[rules]\nmax_callbacks_without_contact = 0\n", "max_callbacks_without_contact"),
    ('[rules]\nadult_age = "15"\n', "adult_age"),
    ('[survey]\nname = ""\n', "name"),
    ("[areas]\nlevels = []\n", "levels"),
    ('[areas]\nlevels = ["ea", "ea"]\n', "levels"),
    ('[areas]\nlevels = ["Region"]\n', "levels"),
    ("[persons]\nsexes = []\n", "sexes"),
    ('[persons]\nsexes = [{ code = "f" }]\n', "each sex"),
    ('[persons]\nsexes = [{ code = "f", label = "F" }, { code = "f", label = "G" }]\n',
     "distinct"),
])
def test_other_bad_values_refused(toml: str, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(toml)
    assert needle in str(exc.value)


def test_canonical_json_round_trips() -> None:
    for cfg in (default_config(),
                parse_config(bands_toml(["0-17", "18-64", "65+"], adult_age=18)
                             + "large_household = 9\n")):
        text = cfg.canonical_json()
        again = SurveyConfig.from_canonical_json(text)
        assert again == cfg
        assert again.canonical_json() == text
        assert again.digest() == cfg.digest()
        assert again.cells == cfg.cells


def test_digest_differs_when_config_differs() -> None:
    a = default_config()
    b = parse_config("[rules]\nlarge_household = 16\n")
    assert a.canonical_json() != b.canonical_json()
    assert a.digest() != b.digest()
    assert len(a.digest()) == 12


@pytest.mark.parametrize("toml", [
    '[areas]\nlevels = ["region", "ea\\n"]\n',
    '[persons]\nage_bands = ["0-4\\n", "5+"]\n[rules]\nadult_age = 5\n',
    '[persons]\nsexes = [{ code = "female\\n", label = "Female" }]\n',
])
def test_codes_with_trailing_newline_refused(toml: str) -> None:
    with pytest.raises(ConfigError):
        parse_config(toml)


def test_band_with_non_ascii_digits_refused() -> None:
    with pytest.raises(ConfigError, match="is not of the form"):
        parse_config('[persons]\nage_bands = ["٠-4", "5+"]\n[rules]\nadult_age = 5\n')


def test_the_protection_floor_is_in_the_config_and_keeps_older_digests() -> None:
    """Issue 17: ckm_min_variance and ckm_max_unchanged; configs that leave them at their
    defaults keep the digests they had before the fields existed (databases and bundles
    compare configs by digest)."""
    assert default_config().disclosure.ckm_min_variance == 1.0
    assert default_config().disclosure.ckm_max_unchanged == 0.5
    # Digests measured with census before issue 17 (default, method ckm, min_persons 50).
    assert default_config().digest() == "60ae55dad927"
    assert parse_config('[disclosure]\nmethod = "ckm"\n').digest() == "7d09cfb5db5f"
    assert parse_config("[disclosure]\nmin_persons = 50\n").digest() == "c6679f2ca1c4"
    stricter = parse_config("[disclosure]\nckm_min_variance = 2.0\n")
    assert stricter.digest() != default_config().digest()
    assert SurveyConfig.from_canonical_json(stricter.canonical_json()) == stricter


@pytest.mark.parametrize(("section", "message"), [
    ("ckm_min_variance = -1", "ckm_min_variance must be a number from 0 to 100"),
    ("ckm_min_variance = 'high'", "ckm_min_variance must be a number from 0 to 100"),
    ("ckm_max_unchanged = 1.5", "ckm_max_unchanged must be a share from 0 to 1"),
    # The table made from D, V and js must meet the floor: V = 1 rounds to 0.94 at count 1.
    ("ckm_max_change = 2\nckm_variance = 1.0\nckm_threshold = 0",
     "would not meet the protection floor"),
    ("ckm_min_variance = 3.5", "would not meet the protection floor"),
])
def test_a_config_below_the_floor_is_refused(section: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(f"[disclosure]\n{section}\n")
