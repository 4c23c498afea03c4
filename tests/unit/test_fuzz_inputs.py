"""Fuzzing the text inputs a user hands over (groundwork for the hardening issue): survey config
TOML and area register CSV. Whatever the text, the parser answers with a config or areas, or
with its own clear error (ConfigError; problems with a line and column); nothing else escapes,
and nothing half-read is returned."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from census.area_file import read_areas
from census.config import DEFAULT_CONFIG_TOML, ConfigError, parse_config

CONFIG_LINES = DEFAULT_CONFIG_TOML.splitlines()
VALUES = ["0", "-1", "1e9", "true", "[]", "[1, 2]", '"x"', "{}", "3.5", '["0-4"]', '["0+"]',
          "99999999999999999999", "nan", "inf", '[{ code = "x", label = "" }]']
AREAS = """code,parent,level,name,expected_dwellings,enumerator
R01,,region,North,,
R01-D01,R01,district,Riverside District,,
R01-D01-EA001,R01-D01,ea,Riverside 1,120,E001
R01-D01-EA002,R01-D01,ea,"Riverside 2, by the lake",80,E002""".splitlines()
NOISE = st.text(alphabet=',"\r\x00R01-DEA0123456789 abcxyz=[]{}#\'\\é+._', max_size=12)


def edit(lines: list[str], edits: list[tuple[int, int, str]], values: list[str]) -> list[str]:
    out = list(lines)
    for index, kind, text in edits:
        if not out:
            break
        i = index % len(out)
        if kind == 0:
            del out[i]
        elif kind == 1:
            out.insert(i, out[i])
        elif kind == 2:
            out[i] = out[i][:len(text)] + text
        elif "=" in out[i]:
            out[i] = out[i].split("=")[0] + "= " + values[index % len(values)]
    return out


EDITS = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 3), NOISE), min_size=1,
                 max_size=5)


@settings(max_examples=300)
@given(EDITS)
def test_config_text(edits: list[tuple[int, int, str]]) -> None:
    text = "\n".join(edit(CONFIG_LINES, edits, VALUES))
    try:
        config = parse_config(text, "fuzz.toml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml")
        return
    assert config.cells and config.age_bands[-1].high is None


@settings(max_examples=300)
@given(EDITS)
def test_area_register(edits: list[tuple[int, int, str]]) -> None:
    from census.config import default_config

    lines = [line + "\n" for line in edit(AREAS, edits, [""])]
    areas, problems = read_areas(lines, default_config(), {"R09": "region"})
    assert not (areas and problems)  # all or nothing
    for p in problems:
        assert p.line >= 1 and p.column and p.message
