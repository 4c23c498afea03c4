"""Fuzzing the text inputs a user hands over (issue 6): survey config TOML and area register CSV.
Whatever the text, the parser answers with a config or areas, or with its own clear error
(ConfigError; problems with a line and column); nothing else escapes, nothing half-read is
returned, and no message is longer than a few hundred characters or quotes a control character
raw (the messages go to a terminal)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from census.domain.config import DEFAULT_CONFIG_TOML, ConfigError, default_config, parse_config
from census.formats.area_csv import read_areas
from tests.hardening.tally import count

CONFIG_LINES = DEFAULT_CONFIG_TOML.splitlines()
VALUES = ["0", "-1", "1e9", "true", "[]", "[1, 2]", '"x"', "{}", "3.5", '["0-4"]', '["0+"]',
          "99999999999999999999", "nan", "inf", '[{ code = "x", label = "" }]']
AREAS = """code,parent,level,name,expected_dwellings,enumerator
R01,,region,North,,
R01-D01,R01,district,Riverside District,,
R01-D01-EA001,R01-D01,ea,Riverside 1,120,E001
R01-D01-EA002,R01-D01,ea,"Riverside 2, by the lake",80,E002""".splitlines()
NOISE = st.one_of(
    st.text(alphabet=',"\r\x00R01-DEA0123456789 abcxyz=[]{}#\'\\é+._', max_size=12),
    st.sampled_from(["\x1b[2J", "\ufeff", "\u202e", "[" * 3000, "{ a = " * 2000, "x" * 200_000,
                     '"' + "x" * 140_000 + '"']))


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


def readable(message: str) -> None:
    assert message and len(message) <= 600 and message.isprintable(), message[:1000]


@settings(max_examples=300)
@given(EDITS)
def test_config_text(edits: list[tuple[int, int, str]]) -> None:
    """An edited survey config: a config whose age bands cover every age, or a ConfigError
    naming the file with a readable message."""
    count("fuzz: survey config TOML", 1)
    text = "\n".join(edit(CONFIG_LINES, edits, VALUES))
    try:
        config = parse_config(text, "fuzz.toml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml")
        readable(str(exc))
        return
    assert config.cells and config.age_bands[-1].high is None
    assert config.name.isprintable() and all(s.label.isprintable() for s in config.sexes)


@settings(max_examples=300)
@given(EDITS)
def test_area_register(edits: list[tuple[int, int, str]]) -> None:
    """An edited area register: areas (parents first, every parent one level up), or problems
    with a line, a column and a readable message; never both."""
    count("fuzz: area register CSV", 1)
    lines = [line + "\n" for line in edit(AREAS, edits, [""])]
    areas, problems = read_areas(lines, default_config(), {"R09": "region"})
    assert not (areas and problems)  # all or nothing
    for p in problems:
        assert p.line >= 1 and p.column
        readable(p.render("areas.csv"))
    levels = default_config().levels
    seen = {"R09": "region"}
    for a in areas:
        depth = levels.index(a.level)
        assert (a.parent is None) == (depth == 0)
        assert a.parent is None or seen[a.parent] == levels[depth - 1]
        seen[a.code] = a.level


@pytest.mark.slow
@settings(max_examples=3000)
@given(EDITS)
def test_config_text_long(edits: list[tuple[int, int, str]]) -> None:
    """test_config_text with ten times the examples."""
    test_config_text.hypothesis.inner_test(edits)


@pytest.mark.slow
@settings(max_examples=3000)
@given(EDITS)
def test_area_register_long(edits: list[tuple[int, int, str]]) -> None:
    """test_area_register with ten times the examples."""
    test_area_register.hypothesis.inner_test(edits)


@pytest.mark.parametrize("text", [
    "[areas]\nlevels = " + "[" * 5000 + "]" * 5000,
    "[survey]\nname = " + "{ a = " * 3000 + "1" + " }" * 3000,
])
def test_config_nested_thousands_deep_is_a_config_error(text: str) -> None:
    """Found by the review: tomllib recurses into nested arrays and inline tables, and a config
    nested thousands deep raised RecursionError out of parse_config."""
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_config(text, "deep.toml")


@pytest.mark.parametrize("text", [
    '[survey]\nname = "Census\\u001b[2J 2026"\n',
    '[persons]\nsexes = [{ code = "f", label = "F\\nx" }, { code = "m", label = "M" }]\n',
    '[persons]\nsexes = [{ code = "f", label = "' + "F" * 41
    + '" }, { code = "m", label = "M" }]\n',
])
def test_names_and_labels_are_one_short_line(text: str) -> None:
    """Found by the review: the survey name and the sex labels (shown in the app's header and
    grid) could hold terminal escapes and line breaks, and a label any length."""
    with pytest.raises(ConfigError, match="one line"):
        parse_config(text, "labels.toml")


def test_a_huge_value_is_quoted_short() -> None:
    """Found by the review: a wrong value was quoted whole in the message (here 200,000
    characters)."""
    with pytest.raises(ConfigError) as caught:
        parse_config('[disclosure]\nmethod = "' + "x" * 200_000 + '"\n', "huge.toml")
    readable(str(caught.value))


def test_an_area_parent_that_is_not_a_code_is_reported_as_such() -> None:
    """Found by the review: the parent column was never checked as a code, and a parent holding
    terminal escapes was quoted raw in "… is not in this file or the database"."""
    lines = [AREAS[0] + "\n", "R01,,region,North,,\n", "R01-X,\x1b[2J,district,Bad,,\n"]
    areas, problems = read_areas(lines, default_config(), {})
    assert not areas and problems
    assert problems[0].column == "parent" and "not an area code" in problems[0].message
    for p in problems:
        readable(p.render("areas.csv"))
