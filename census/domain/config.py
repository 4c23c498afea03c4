"""Survey configuration: area levels, sex categories, age bands, rule and disclosure thresholds.

A survey config is fixed for a database when it is created (`census init --config FILE`); its
canonical JSON form is stored in the database and compared on every later `init`, so a changed
config cannot silently reinterpret stored counts. Pure: parsing takes text, never opens files.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from census.domain.errors import CensusError
from census.i18n import N_, Quoted, _

#: The largest locator length the privacy model allows, whatever a config says (DESIGN §2).
LOCATOR_HARD_LIMIT = 60
#: Most cells a count grid may have (two columns each in the household table).
MAX_CELLS = 200

DEFAULT_CONFIG_TOML = """\
# census survey configuration (the built-in default).
# Copy this file, change it, and give it to `census init --config FILE` before any data is entered.

[survey]
name = "Census 2026 (demo configuration)"

[areas]
# Levels of the area hierarchy, from the top down; the last one is the enumeration area (EA).
levels = ["region", "district", "ea"]

[persons]
# Sex categories: code (stored) and label (shown).
sexes = [
  { code = "female", label = "Female" },
  { code = "male", label = "Male" },
]
# Age bands in completed years, contiguous from 0; the last one is open-ended ("65+").
age_bands = ["0-4", "5-14", "15-24", "25-34", "35-44", "45-54", "55-64", "65+"]
# Hard limit (error E001/E008): no cell, and no household, may count more persons than this.
max_household_size = 60

[rules]
# W001: a household with more usual residents than this needs a confirmed reason.
large_household = 15
# W002: a household where nobody present is at least this old needs a confirmed reason.
adult_age = 15
# W003: more unsuccessful visits than this to one dwelling needs a confirmed reason.
max_callbacks_without_contact = 3
# Longest dwelling locator in characters (at most 60).
locator_max_length = 60

[disclosure]
# How published tables of persons and households are protected (README, "Protected tables"):
# "rr3" rounds every count to a multiple of 3; "ckm" adds small noise from a perturbation table.
method = "rr3"
# An area with fewer usual residents or fewer households than this is never published alone:
# it is combined with the other small areas of the same parent (the UK's output areas use 100
# persons and 40 households).
min_persons = 100
min_households = 40
# "ckm" only: the largest change to a count, the variance of the changes, and the threshold:
# counts 1 .. threshold are never published (they become 0 or more than the threshold).
ckm_max_change = 5
ckm_variance = 3.0
ckm_threshold = 2
# The protection floor every perturbation table must meet, made from the lines above or brought
# with --ptable: for every count above the threshold, the variance of its change is at least
# ckm_min_variance, and at most this share of cell keys leaves it unchanged.
ckm_min_variance = 1.0
ckm_max_unchanged = 0.5
# "dp" only: the survey's privacy-loss budget (rho, zero-concentrated differential privacy)
# that all releases together may spend on any person.
dp_rho_total = 1.0
"""


# The built-in sex labels, marked so that the catalogs translate them when shown.
DEFAULT_LABELS = (N_("Female"), N_("Male"))


class ConfigError(CensusError, ValueError):
    """A survey config that cannot be used; the message says where and how to fix it."""


@dataclass(frozen=True)
class Category:
    """One sex category: `code` is stored, `label` is shown."""

    code: str
    label: str


@dataclass(frozen=True)
class AgeBand:
    """Ages `low` to `high` in completed years, inclusive; `high` None means open-ended."""

    code: str
    low: int
    high: int | None

    def contains(self, age: int) -> bool:
        """True when `age` falls in this band."""
        return age >= self.low and (self.high is None or age <= self.high)


@dataclass(frozen=True)
class RuleThresholds:
    """Thresholds of the soft rules (W-codes) and the locator limit."""

    large_household: int = 15
    adult_age: int = 15
    max_callbacks_without_contact: int = 3
    locator_max_length: int = LOCATOR_HARD_LIMIT


METHODS = ("rr3", "ckm", "dp")
"""Protection methods a survey config may choose for published tables."""


@dataclass(frozen=True)
class Disclosure:
    """How published tables are protected (DESIGN §6): the method, the smallest area published
    alone, and the cell key method's parameters (D, V, js in the sdcTools notation)."""

    method: str = "rr3"
    min_persons: int = 100
    min_households: int = 40
    ckm_max_change: int = 5
    ckm_variance: float = 3.0
    ckm_threshold: int = 2
    ckm_min_variance: float = 1.0
    ckm_max_unchanged: float = 0.5
    dp_rho_total: float = 1.0


#: Disclosure fields added after databases were made: left out of the canonical form while
#: they hold their default, so that those databases keep their config digest.
LATER_DISCLOSURE_FIELDS = ("ckm_min_variance", "ckm_max_unchanged", "dp_rho_total")


@dataclass(frozen=True)
class SurveyConfig:
    """Everything that defines the shape of the data of one survey."""

    name: str
    levels: tuple[str, ...]
    sexes: tuple[Category, ...]
    age_bands: tuple[AgeBand, ...]
    max_household_size: int
    rules: RuleThresholds = field(default_factory=RuleThresholds)
    disclosure: Disclosure = field(default_factory=Disclosure)

    @cached_property
    def cells(self) -> tuple[tuple[str, str], ...]:
        """The (sex code, age band code) cells of the count grid, in storage order."""
        return tuple((s.code, b.code) for s in self.sexes for b in self.age_bands)

    @cached_property
    def cell_set(self) -> frozenset[tuple[str, str]]:
        """The cells, for membership tests."""
        return frozenset(self.cells)

    def canonical_json(self) -> str:
        """A stable JSON form: two configs are the same survey when these strings are equal."""
        data = asdict(self)
        if self.disclosure == Disclosure():
            # Databases made before [disclosure] existed keep their digest: the default is
            # left out of the canonical form, so it compares equal to theirs.
            del data["disclosure"]
        else:
            for name in LATER_DISCLOSURE_FIELDS:
                if data["disclosure"][name] == getattr(Disclosure(), name):
                    del data["disclosure"][name]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """Short SHA-256 of the canonical form, shown when configs differ."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:12]

    @staticmethod
    def from_canonical_json(text: str) -> SurveyConfig:
        """Rebuild a config from `canonical_json()` output (as stored in a database)."""
        raw = json.loads(text)
        return SurveyConfig(
            name=raw["name"],
            levels=tuple(raw["levels"]),
            sexes=tuple(Category(**s) for s in raw["sexes"]),
            age_bands=tuple(AgeBand(**b) for b in raw["age_bands"]),
            max_household_size=raw["max_household_size"],
            rules=RuleThresholds(**raw["rules"]),
            disclosure=Disclosure(**raw.get("disclosure", {})),
        )


_CODE = re.compile(r"[a-z][a-z0-9_]{0,19}")
_BAND = re.compile(r"([0-9]{1,3})(?:-([0-9]{1,3})|(\+))")

_ALLOWED: dict[str, set[str]] = {
    "survey": {"name"},
    "areas": {"levels"},
    "persons": {"sexes", "age_bands", "max_household_size"},
    "rules": {
        "large_household",
        "adult_age",
        "max_callbacks_without_contact",
        "locator_max_length",
    },
    "disclosure": {"method", "min_persons", "min_households", "ckm_max_change", "ckm_variance",
                   "ckm_threshold", "ckm_min_variance", "ckm_max_unchanged", "dp_rho_total"},
}


def parse_age_bands(values: list[Any], where: str) -> tuple[AgeBand, ...]:
    """Parse "a-b" / "a+" strings into contiguous bands from 0; refuse gaps and overlaps."""
    if not isinstance(values, list) or not values:
        raise ConfigError(_("{where}: age_bands must be a non-empty list such as "
                            '["0-4", "5-14", "15+"].').format(where=where))
    bands: list[AgeBand] = []
    for i, value in enumerate(values):
        m = _BAND.fullmatch(value) if isinstance(value, str) else None
        if not m:
            raise ConfigError(_('{where}: age band {value!r} is not of the form "0-4" or "65+".')
                              .format(where=where, value=Quoted(value)))
        low = int(m.group(1))
        high = None if m.group(3) else int(m.group(2))
        if high is not None and high < low:
            raise ConfigError(_("{where}: age band {value!r} ends before it starts.")
                              .format(where=where, value=value))
        if high is None and i != len(values) - 1:
            raise ConfigError(_("{where}: only the last age band may be open-ended; "
                                "{value!r} is not last.").format(where=where, value=value))
        expected_low = 0 if not bands else (bands[-1].high or 0) + 1
        if low != expected_low:
            previous = bands[-1].code if bands else None
            if low > expected_low:
                gap = f"{expected_low}-{low - 1}"
                raise ConfigError(
                    _("{where}: age bands leave ages {gap} uncovered (between {prev!r} and "
                      "{value!r}); make each band start one year after the previous one ends.")
                    .format(where=where, gap=gap, prev=previous, value=value))
            raise ConfigError(
                _("{where}: age band {value!r} overlaps {prev!r}; make each band start one "
                  "year after the previous one ends (here at {start}).")
                .format(where=where, value=value, prev=previous, start=expected_low))
        bands.append(AgeBand(code=value, low=low, high=high))
    if bands[-1].high is not None:
        raise ConfigError(_('{where}: the last age band must be open-ended (e.g. "65+") so that '
                            "every age has a band.").format(where=where))
    return tuple(bands)


def _int(section: dict[str, Any], key: str, default: int, low: int, high: int, where: str) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(_("{where}: {key} must be a whole number from {low} to {high}, "
                            "not {value!r}.").format(where=where, key=key, low=low, high=high,
                                                     value=Quoted(value)))
    return value


def parse_config(text: str, source: str = "config") -> SurveyConfig:
    """Parse TOML text into a SurveyConfig; every mistake raises ConfigError naming the key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("{source}: not valid TOML: {error}").format(source=source,
                                                                        error=exc)) from exc
    except RecursionError:  # arrays or tables nested thousands deep: tomllib recurses
        raise ConfigError(_("{source}: not valid TOML: it is nested too deeply; a survey "
                            "config nests at most a few levels.").format(source=source)) from None
    for section, value in raw.items():
        if section not in _ALLOWED:
            raise ConfigError(_("{source}: unknown section [{section}]; allowed: {allowed}.")
                              .format(source=source, section=section,
                                      allowed=", ".join(sorted(_ALLOWED))))
        if not isinstance(value, dict):
            raise ConfigError(_("{source}: [{section}] must be a table.")
                              .format(source=source, section=section))
        unknown = set(value) - _ALLOWED[section]
        if unknown:
            raise ConfigError(_("{source}: unknown key(s) {keys} in [{section}]; allowed: "
                                "{allowed}.").format(source=source, keys=", ".join(sorted(unknown)),
                                                     section=section,
                                                     allowed=", ".join(sorted(_ALLOWED[section]))))
    default = tomllib.loads(DEFAULT_CONFIG_TOML)
    survey = {**default["survey"], **raw.get("survey", {})}
    areas = {**default["areas"], **raw.get("areas", {})}
    persons = {**default["persons"], **raw.get("persons", {})}
    rules = {**default["rules"], **raw.get("rules", {})}
    disclosure = {**default["disclosure"], **raw.get("disclosure", {})}

    name = survey["name"]
    if not isinstance(name, str) or not 0 < len(name) <= 120:
        raise ConfigError(_("{source}: [survey] name must be text of 1 to 120 characters.")
                          .format(source=source))
    if not name.isprintable():
        raise ConfigError(_("{source}: [survey] name holds control characters (a line break, a "
                            "tab...); write it on one line.").format(source=source))

    levels = areas["levels"]
    if (not isinstance(levels, list) or not levels
            or not all(isinstance(x, str) and _CODE.fullmatch(x) for x in levels)
            or len(set(levels)) != len(levels)):
        raise ConfigError(_("{source}: [areas] levels must be a list of distinct lower-case "
                            'codes such as ["region", "district", "ea"].').format(source=source))

    sexes_raw = persons["sexes"]
    sexes: list[Category] = []
    if not isinstance(sexes_raw, list) or not sexes_raw:
        raise ConfigError(_("{source}: [persons] sexes must be a non-empty list of "
                            "{{ code, label }} tables.").format(source=source))
    for item in sexes_raw:
        if (not isinstance(item, dict) or set(item) != {"code", "label"}
                or not isinstance(item["code"], str) or not _CODE.fullmatch(item["code"])
                or not isinstance(item["label"], str) or not item["label"]):
            raise ConfigError(_("{source}: [persons] each sex needs exactly a lower-case code "
                                "and a label, e.g. {{ code = \"female\", label = \"Female\" }}; "
                                "got {item!r}.").format(source=source, item=Quoted(item)))
        if len(item["label"]) > 40 or not item["label"].isprintable():
            raise ConfigError(_("{source}: [persons] the label of sex {code} must be 1 to 40 "
                                "characters on one line (no tabs or line breaks).").format(
                source=source, code=item["code"]))
        sexes.append(Category(item["code"], item["label"]))
    if len({s.code for s in sexes}) != len(sexes):
        raise ConfigError(_("{source}: [persons] sex codes must be distinct.")
                          .format(source=source))

    bands = parse_age_bands(persons["age_bands"], f"{source}: [persons]")
    if len(sexes) * len(bands) > MAX_CELLS:
        raise ConfigError(_("{source}: [persons] {n} sex categories × {m} age bands make {cells} "
                            "cells; at most {max} are allowed.").format(
            source=source, n=len(sexes), m=len(bands), cells=len(sexes) * len(bands),
            max=MAX_CELLS))
    max_size = _int(persons, "max_household_size", 60, 1, 500, f"{source}: [persons]")
    where = f"{source}: [rules]"
    thresholds = RuleThresholds(
        large_household=_int(rules, "large_household", 15, 1, max_size, where),
        adult_age=_int(rules, "adult_age", 15, 1, 120, where),
        max_callbacks_without_contact=_int(rules, "max_callbacks_without_contact", 3, 1, 50,
                                           where),
        locator_max_length=_int(rules, "locator_max_length", LOCATOR_HARD_LIMIT, 1,
                                LOCATOR_HARD_LIMIT, where),
    )
    if thresholds.adult_age not in {b.low for b in bands}:
        raise ConfigError(_("{where}: adult_age {age} must be where an age band starts ({starts}), "
                            "so that a band is either all adults or none.")
                          .format(where=where, age=thresholds.adult_age,
                                  starts=", ".join(str(b.low) for b in bands)))
    return SurveyConfig(name=name, levels=tuple(levels), sexes=tuple(sexes),
                        age_bands=bands, max_household_size=max_size, rules=thresholds,
                        disclosure=parse_disclosure(disclosure, f"{source}: [disclosure]"))


def parse_disclosure(section: dict[str, Any], where: str) -> Disclosure:
    """The [disclosure] section; the cell key parameters are checked by building their
    perturbation table's rules (a set the sdcTools reference refuses is refused here)."""
    method = section["method"]
    if method not in METHODS:
        raise ConfigError(_('{where}: method must be "rr3", "ckm" or "dp", not {value!r}.')
                          .format(where=where, value=Quoted(method)))
    variance = section["ckm_variance"]
    if isinstance(variance, bool) or not isinstance(variance, int | float) \
            or not 0 < variance <= 100:
        raise ConfigError(_("{where}: ckm_variance must be a number above 0 and at most 100, "
                            "not {value!r}.").format(where=where, value=Quoted(variance)))
    floor = section["ckm_min_variance"]
    if isinstance(floor, bool) or not isinstance(floor, int | float) or not 0 <= floor <= 100:
        raise ConfigError(_("{where}: ckm_min_variance must be a number from 0 to 100, not "
                            "{value!r}.").format(where=where, value=Quoted(floor)))
    unchanged = section["ckm_max_unchanged"]
    if isinstance(unchanged, bool) or not isinstance(unchanged, int | float) \
            or not 0 <= unchanged <= 1:
        raise ConfigError(_("{where}: ckm_max_unchanged must be a share from 0 to 1, not "
                            "{value!r}.").format(where=where, value=Quoted(unchanged)))
    budget = section["dp_rho_total"]
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not 0 < budget <= 100:
        raise ConfigError(_("{where}: dp_rho_total must be a number above 0 and at most 100, "
                            "not {value!r}.").format(where=where, value=Quoted(budget)))
    found = Disclosure(
        method=method,
        min_persons=_int(section, "min_persons", 100, 1, 1_000_000, where),
        min_households=_int(section, "min_households", 40, 1, 1_000_000, where),
        ckm_max_change=_int(section, "ckm_max_change", 5, 1, 20, where),
        ckm_variance=float(variance),
        ckm_threshold=_int(section, "ckm_threshold", 2, 0, 19, where),
        ckm_min_variance=float(floor),
        ckm_max_unchanged=float(unchanged),
        dp_rho_total=float(budget),
    )
    from census.privacy.ptable.generate import check_parameters, floor_problem

    problem = check_parameters(found.ckm_max_change, found.ckm_variance, found.ckm_threshold)
    if problem:
        raise ConfigError(f"{where}: {problem}")
    problem = floor_problem(found.ckm_max_change, found.ckm_variance, found.ckm_threshold,
                            found.ckm_min_variance, found.ckm_max_unchanged)
    if problem:
        raise ConfigError(_("{where}: the perturbation table made from ckm_max_change, "
                            "ckm_variance and ckm_threshold would not meet the protection "
                            "floor: {problem}. Raise ckm_variance.").format(
            where=where, problem=problem))
    return found


def default_config() -> SurveyConfig:
    """The built-in survey config."""
    return parse_config(DEFAULT_CONFIG_TOML, "built-in config")
