"""Schema and migrations (sqlite-utils `Migrations`): STRICT tables with CHECK constraints.

The CHECKs are the second line behind the rule engine: whatever a bug lets through, the store
still refuses a negative count, an unknown code or an over-long locator. There is no column for
a name, birth date, phone number or any sensitive category (tests/storage/test_schema_privacy.py).
The count grid is one column per (sex, age band) cell, `n_00`…, with its key sum `k_00`…; the
`cell` table says which column is which, so tabulation reads it with plain SQL.
"""

from __future__ import annotations

from enum import StrEnum

from sqlite_utils import Database, Migrations

from census.domain.config import LOCATOR_HARD_LIMIT, SurveyConfig
from census.domain.model import (
    NOTE_LIMIT,
    RELEASE_OVERRIDES,
    AreaStatus,
    DwellingType,
    HouseholdStatus,
    Occupancy,
    Outcome,
    OverrideReason,
    ReopenReason,
    Resolution,
    Respondent,
    ReturnReason,
    ReviewKind,
    Role,
)

GENESIS = "0" * 64


def _in(column: str, codes: type[StrEnum]) -> str:
    values = ", ".join(f"'{c}'" for c in codes)
    return f"CHECK ({column} IN ({values}))"


def cell_columns(config: SurveyConfig) -> tuple[list[str], list[str]]:
    """Names of the count and key-sum columns, in `config.cells` order."""
    n = len(config.cells)
    return [f"n_{i:02d}" for i in range(n)], [f"k_{i:02d}" for i in range(n)]


_TIME = ("CHECK ({c} IS NULL OR ({c} GLOB "
         "'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]*'))")
_CODE = "CHECK ({c} IS NULL OR length({c}) BETWEEN 1 AND 40)"


def _time(column: str) -> str:
    return _TIME.format(c=column)


def _code(column: str) -> str:
    return _CODE.format(c=column)


def create_tables(db: Database, config: SurveyConfig) -> None:
    """The first schema: everything a census database holds."""
    cap = config.max_household_size
    counts, keys = cell_columns(config)
    grid = ",\n".join(
        [f"  {c} INTEGER NOT NULL DEFAULT 0 CHECK ({c} BETWEEN 0 AND {cap})" for c in counts]
        + [f"  {k} INTEGER NOT NULL DEFAULT 0 CHECK ({k} BETWEEN 0 AND 4294967295)" for k in keys])
    statements = [
        f"""CREATE TABLE cell (
  idx INTEGER PRIMARY KEY,
  sex TEXT NOT NULL {_code('sex')},
  band TEXT NOT NULL {_code('band')},
  age_low INTEGER NOT NULL CHECK (age_low >= 0),
  age_high INTEGER CHECK (age_high IS NULL OR age_high >= age_low),
  UNIQUE (sex, band)
) STRICT""",
        """CREATE TABLE enumerator (
  code TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 40)
) STRICT""",
        f"""CREATE TABLE area (
  code TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 40),
  parent TEXT REFERENCES area(code),
  level TEXT NOT NULL {_code('level')},
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
  expected_dwellings INTEGER CHECK (expected_dwellings IS NULL OR expected_dwellings >= 0),
  enumerator TEXT REFERENCES enumerator(code),
  status TEXT NOT NULL DEFAULT 'open' {_in('status', AreaStatus)}
) STRICT""",
        f"""CREATE TABLE dwelling (
  id TEXT PRIMARY KEY CHECK (length(id) = 36),
  area TEXT NOT NULL REFERENCES area(code),
  structure INTEGER NOT NULL CHECK (structure BETWEEN 1 AND 9999),
  number INTEGER NOT NULL CHECK (number BETWEEN 1 AND 9999),
  type TEXT NOT NULL {_in('type', DwellingType)},
  occupancy TEXT NOT NULL {_in('occupancy', Occupancy)},
  locator TEXT CHECK (locator IS NULL OR length(locator) BETWEEN 1 AND {LOCATOR_HARD_LIMIT}),
  enumerator TEXT {_code('enumerator')},
  revision INTEGER NOT NULL CHECK (revision >= 1),
  digest TEXT NOT NULL CHECK (length(digest) = 64),
  updated_at TEXT NOT NULL,
  UNIQUE (area, structure, number)
) STRICT""",
        f"""CREATE TABLE visit (
  dwelling_id TEXT NOT NULL REFERENCES dwelling(id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL CHECK (attempt BETWEEN 1 AND 99),
  at TEXT NOT NULL {_time('at')},
  outcome TEXT NOT NULL {_in('outcome', Outcome)},
  callback_at TEXT {_time('callback_at')},
  enumerator TEXT {_code('enumerator')},
  PRIMARY KEY (dwelling_id, attempt),
  CHECK (callback_at IS NULL OR callback_at > at)
) STRICT""",
        f"""CREATE TABLE household (
  id TEXT PRIMARY KEY CHECK (length(id) = 36),
  dwelling_id TEXT NOT NULL REFERENCES dwelling(id) ON DELETE CASCADE,
  area TEXT NOT NULL REFERENCES area(code),
  number INTEGER NOT NULL CHECK (number BETWEEN 1 AND 99),
  status TEXT NOT NULL {_in('status', HouseholdStatus)},
  respondent TEXT NOT NULL {_in('respondent', Respondent)},
  revision INTEGER NOT NULL CHECK (revision >= 1),
  digest TEXT NOT NULL CHECK (length(digest) = 64),
  seed BLOB NOT NULL CHECK (length(seed) = 16),
  away INTEGER NOT NULL CHECK (away BETWEEN 0 AND {cap}),
  visitors INTEGER NOT NULL CHECK (visitors BETWEEN 0 AND {cap}),
  declared_total INTEGER CHECK (declared_total IS NULL OR declared_total >= 0),
  usual_residents INTEGER NOT NULL CHECK (usual_residents BETWEEN 0 AND {cap}),
  updated_at TEXT NOT NULL,
  updated_by TEXT {_code('updated_by')},
{grid},
  UNIQUE (dwelling_id, number)
) STRICT""",
        f"""CREATE TABLE override (
  record_id TEXT NOT NULL CHECK (length(record_id) = 36),
  rule_id TEXT NOT NULL CHECK (rule_id GLOB 'W[0-9][0-9][0-9]'),
  reason TEXT NOT NULL {_in('reason', OverrideReason)},
  PRIMARY KEY (record_id, rule_id)
) STRICT""",
        """CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  who TEXT NOT NULL CHECK (length(who) BETWEEN 1 AND 40),
  record_type TEXT NOT NULL CHECK (record_type IN ('area', 'dwelling', 'household', 'survey')),
  record_id TEXT NOT NULL CHECK (length(record_id) BETWEEN 1 AND 40),
  field TEXT NOT NULL CHECK (length(field) BETWEEN 1 AND 80),
  old TEXT CHECK (old IS NULL OR length(old) <= 4000),
  new TEXT CHECK (new IS NULL OR length(new) <= 4000),
  reason TEXT CHECK (reason IS NULL OR length(reason) BETWEEN 1 AND 200),
  prev TEXT NOT NULL CHECK (length(prev) = 64),
  hash TEXT NOT NULL CHECK (length(hash) = 64)
) STRICT""",
        """CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
        """CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
        "CREATE INDEX visit_callback ON visit (callback_at) WHERE callback_at IS NOT NULL",
    ]
    for sql in statements:
        db.execute(sql)
    cells = []
    bands = {b.code: b for b in config.age_bands}
    for i, (sex, band) in enumerate(config.cells):
        cells.append((i, sex, band, bands[band].low, bands[band].high))
    db.conn.executemany("INSERT INTO cell VALUES (?, ?, ?, ?, ?)", cells)


def create_transfer_tables(db: Database) -> None:
    """Bundles and review (issue 4): keys of other levels, what came from whom, the review queue,
    supervisors' decisions, and which dwelling numbers were handed over and purged.

    Provenance of a record's current revision: `source` is the peer it came from (NULL when it
    was written here); `base_rev`/`base_digest` the upstream version it was edited from (a form
    returned for correction); `acked` the revision the upstream acknowledged in a receipt.
    """
    roles = _in("role", Role)
    statements = []
    for table in ("dwelling", "household"):
        statements += [
            f"ALTER TABLE {table} ADD COLUMN source TEXT {_code('source')}",
            f"ALTER TABLE {table} ADD COLUMN base_rev INTEGER CHECK (base_rev IS NULL OR "
            "base_rev >= 1)",
            f"ALTER TABLE {table} ADD COLUMN base_digest TEXT CHECK (base_digest IS NULL OR "
            "length(base_digest) = 64)",
            f"ALTER TABLE {table} ADD COLUMN acked INTEGER CHECK (acked IS NULL OR acked >= 1)",
        ]
    statements += [
        f"""CREATE TABLE peer (
  code TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 40),
  {roles.replace('CHECK', 'role TEXT NOT NULL CHECK', 1)},
  direction TEXT NOT NULL CHECK (direction IN ('upstream', 'downstream')),
  enc_key BLOB NOT NULL CHECK (length(enc_key) = 32),
  sign_key BLOB NOT NULL CHECK (length(sign_key) = 32),
  key_id TEXT NOT NULL CHECK (length(key_id) = 16),
  status TEXT NOT NULL DEFAULT 'trusted' CHECK (status IN ('trusted', 'revoked')),
  added_at TEXT NOT NULL,
  seq_out INTEGER NOT NULL DEFAULT 0 CHECK (seq_out >= 0),
  seq_in INTEGER NOT NULL DEFAULT 0 CHECK (seq_in >= 0)
) STRICT""",
        """CREATE TABLE peer_area (
  peer TEXT NOT NULL REFERENCES peer(code),
  area TEXT NOT NULL REFERENCES area(code),
  PRIMARY KEY (peer, area)
) STRICT""",
        """CREATE TABLE transfer (
  id TEXT PRIMARY KEY CHECK (length(id) = 36),
  kind TEXT NOT NULL CHECK (kind IN ('bundle', 'assignment', 'receipt')),
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  peer TEXT NOT NULL CHECK (length(peer) BETWEEN 1 AND 40),
  seq INTEGER NOT NULL CHECK (seq >= 1),
  created TEXT NOT NULL,
  at TEXT NOT NULL,
  payload_sha256 TEXT NOT NULL CHECK (length(payload_sha256) = 64),
  summary TEXT NOT NULL CHECK (length(summary) <= 400)
) STRICT""",
        f"""CREATE TABLE review (
  id INTEGER PRIMARY KEY,
  {_in('kind', ReviewKind).replace('CHECK', 'kind TEXT NOT NULL CHECK', 1)},
  record_type TEXT NOT NULL CHECK (record_type IN ('dwelling', 'household')),
  record_id TEXT NOT NULL CHECK (length(record_id) BETWEEN 1 AND 40),
  area TEXT NOT NULL CHECK (length(area) BETWEEN 1 AND 40),
  other_id TEXT CHECK (other_id IS NULL OR length(other_id) = 36),
  revision INTEGER NOT NULL CHECK (revision >= 1),
  digest TEXT NOT NULL CHECK (length(digest) = 64),
  source TEXT NOT NULL CHECK (length(source) BETWEEN 1 AND 40),
  transfer TEXT CHECK (transfer IS NULL OR length(transfer) = 36),
  detail TEXT NOT NULL CHECK (length(detail) <= 400),
  incoming TEXT CHECK (incoming IS NULL OR length(incoming) <= 200000),
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
  resolution TEXT CHECK (resolution IS NULL OR resolution IN
    ({", ".join(f"'{r}'" for r in Resolution)})),
  created_at TEXT NOT NULL,
  resolved_by TEXT {_code('resolved_by')},
  resolved_at TEXT,
  UNIQUE (kind, record_id, digest)
) STRICT""",
        "CREATE INDEX review_open ON review (status, area)",
        f"""CREATE TABLE decision (
  household_id TEXT NOT NULL CHECK (length(household_id) = 36),
  revision INTEGER NOT NULL CHECK (revision >= 1),
  action TEXT NOT NULL CHECK (action IN ('approved', 'returned')),
  reason TEXT CHECK (reason IS NULL OR reason IN
    ({", ".join(f"'{r}'" for r in ReturnReason)})),
  note TEXT CHECK (note IS NULL OR length(note) BETWEEN 1 AND {NOTE_LIMIT}),
  rules TEXT CHECK (rules IS NULL OR rules GLOB '[EWI][0-9][0-9][0-9]*'),
  who TEXT NOT NULL CHECK (length(who) BETWEEN 1 AND 40),
  at TEXT NOT NULL,
  prior_rev INTEGER CHECK (prior_rev IS NULL OR prior_rev >= 1),
  prior_digest TEXT CHECK (prior_digest IS NULL OR length(prior_digest) = 64),
  prior_source TEXT CHECK (prior_source IS NULL OR length(prior_source) BETWEEN 1 AND 40),
  PRIMARY KEY (household_id, revision)
) STRICT""",
        f"""CREATE TABLE handed_over (
  area TEXT NOT NULL CHECK (length(area) BETWEEN 1 AND 40),
  structure INTEGER NOT NULL CHECK (structure BETWEEN 1 AND 9999),
  number INTEGER NOT NULL CHECK (number BETWEEN 1 AND 9999),
  {_in('outcome', Outcome).replace('CHECK', 'outcome TEXT NOT NULL CHECK', 1)},
  households INTEGER NOT NULL CHECK (households >= 0),
  persons INTEGER NOT NULL CHECK (persons >= 0),
  PRIMARY KEY (area, structure, number)
) STRICT""",
        "CREATE INDEX household_source ON household (source)",
        "CREATE INDEX dwelling_source ON dwelling (source)",
    ]
    for sql in statements:
        db.execute(sql)


def create_release_tables(db: Database) -> None:
    """The release ledger (issue 5). `release` records every export of tables. `release_state`
    keeps, per published unit (an area, or a group of small areas) and per enumeration area
    inside one, and per protected table, the digest of the exact data last published and the
    release that published it: a later release whose data differ there (a differencing risk),
    or that uses another method for the same cells, is refused unless overridden, and the
    override is logged. One row per unit or area, updated in place, so the check and the
    ledger's size do not grow with the number of releases. Digests of exact counts stay here;
    they are never written into a published file.

    Written to also upgrade databases made by development versions of this feature (their
    per-release digest tables are dropped; the `release` rows are kept)."""
    methods = "'rr3', 'ckm', 'none'"
    reasons = ", ".join(f"'{r}'" for r in RELEASE_OVERRIDES)
    statements = [
        f"""CREATE TABLE IF NOT EXISTS release (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL CHECK (length(id) = 10 AND id GLOB 'R-*'
                          AND NOT substr(id, 3) GLOB '*[^0-9A-F]*'),
  created_at TEXT NOT NULL,
  user TEXT NOT NULL {_code('user')},
  level TEXT NOT NULL CHECK (length(level) <= 20),
  method TEXT NOT NULL CHECK (method IN ({methods})),
  ptable TEXT CHECK (ptable IS NULL OR length(ptable) = 64),
  tables TEXT NOT NULL CHECK (length(tables) <= 40),
  format TEXT NOT NULL CHECK (format IN ('csv', 'json', 'parquet')),
  units INTEGER NOT NULL CHECK (units >= 0),
  content TEXT NOT NULL CHECK (length(content) = 64),
  override TEXT CHECK (override IS NULL OR override IN ({reasons}))
) STRICT""",
        "CREATE INDEX IF NOT EXISTS release_content ON release (content)",
        """CREATE TABLE release_state (
  kind TEXT NOT NULL CHECK (kind IN ('unit', 'area')),
  code TEXT NOT NULL CHECK (length(code) <= 50),
  tbl TEXT NOT NULL CHECK (tbl IN ('persons', 'households')),
  digest TEXT NOT NULL CHECK (length(digest) = 64),
  seq INTEGER NOT NULL REFERENCES release (seq),
  PRIMARY KEY (kind, code, tbl)
) STRICT""",
        # Tables are GROUP BY area: with this index SQLite reads each area's households in
        # turn instead of sorting them all first; its sorter would hold every household in
        # memory (temporary data stays in memory, so that nothing is written unencrypted), and
        # an export's memory would grow with the households.
        "CREATE INDEX IF NOT EXISTS household_area ON household (area, status)",
    ]
    for sql in statements:
        db.execute(sql)
    # Development versions kept a digest row per release: their latest protected entries are
    # the reference now (the digest formula is the same), then the old tables go.
    for old, kind, column in (("release_unit", "unit", "unit"), ("release_area", "area", "area")):
        if old in db.table_names():
            db.execute(
                f"INSERT INTO release_state (kind, code, tbl, digest, seq) SELECT '{kind}', "
                f"u.{column}, u.tbl, u.digest, u.seq FROM {old} u JOIN release r USING (seq) "
                "WHERE r.method != 'none' AND u.tbl IN ('persons', 'households') AND u.seq = "
                f"(SELECT max(x.seq) FROM {old} x JOIN release rx USING (seq) WHERE "
                f"x.{column} = u.{column} AND x.tbl = u.tbl AND rx.method != 'none')")
            db.execute(f"DROP TABLE {old}")


def create_release_cells_table(db: Database) -> None:
    """Which method last published each set of cells: a unit is keyed by the enumeration areas
    it covers (a region with one district covers the same cells as that district, under
    another code), so the same cells are never published under two methods or perturbation
    tables without a declared change of method."""
    db.execute("""CREATE TABLE IF NOT EXISTS release_cells (
  cells TEXT NOT NULL CHECK (length(cells) = 40),
  tbl TEXT NOT NULL CHECK (tbl IN ('persons', 'households')),
  seq INTEGER NOT NULL REFERENCES release (seq),
  PRIMARY KEY (cells, tbl)
) STRICT""")


def create_lifecycle_tables(db: Database) -> None:
    """Lifecycle and authority (issue 13). An area's status changes are numbered
    (`status_rev`, with the reason of a reopening), so the latest travels up whatever the order
    in which bundles arrive. `audit_anchor` keeps the audit heads exchanged with other levels:
    sent up in a bundle, received from below, confirmed back by a receipt; a rewrite of history
    already anchored is found by `census audit verify` and by the next import."""
    reasons = ", ".join(f"'{r}'" for r in ReopenReason)
    for sql in (
        "ALTER TABLE area ADD COLUMN status_rev INTEGER NOT NULL DEFAULT 0 "
        "CHECK (status_rev >= 0)",
        # Files of a peer received before its key was (re)trusted are another device's.
        "ALTER TABLE peer ADD COLUMN key_from INTEGER NOT NULL DEFAULT 0",
        f"ALTER TABLE area ADD COLUMN status_reason TEXT CHECK (status_reason IS NULL OR "
        f"status_reason IN ({reasons}))",
        """CREATE TABLE audit_anchor (
  peer TEXT NOT NULL CHECK (length(peer) BETWEEN 1 AND 40),
  direction TEXT NOT NULL CHECK (direction IN ('sent', 'received', 'confirmed')),
  seq INTEGER NOT NULL CHECK (seq >= 1),
  hash TEXT NOT NULL CHECK (length(hash) = 64),
  transfer TEXT NOT NULL CHECK (length(transfer) = 36),
  at TEXT NOT NULL,
  PRIMARY KEY (peer, direction, seq)
) STRICT""",
    ):
        db.execute(sql)


def create_file_columns(db: Database) -> None:
    """Sealed files after use (issue 14): each transfer's file is known by the SHA-256 of its
    bytes (never by its path: `census files` finds copies wherever they are), and when the
    other side acknowledged a file sent (`acked_at`) or was told a file received was taken
    (`ack_sent_at`)."""
    for sql in (
        "ALTER TABLE transfer ADD COLUMN file_sha256 TEXT CHECK (file_sha256 IS NULL OR "
        "length(file_sha256) = 64)",
        "ALTER TABLE transfer ADD COLUMN acked_at TEXT CHECK (acked_at IS NULL OR "
        "length(acked_at) <= 40)",
        "ALTER TABLE transfer ADD COLUMN ack_sent_at TEXT CHECK (ack_sent_at IS NULL OR "
        "length(ack_sent_at) <= 40)",
        "CREATE INDEX transfer_file ON transfer (file_sha256)",
    ):
        db.execute(sql)


def create_release_unit_tables(db: Database) -> None:
    """Disclosure control, second pass (issue 17). A published unit is the set of enumeration
    areas it covers, whatever its name: `release_members` keeps each such set ever published under
    protection (keyed by a digest of the sorted codes; the codes as a JSON list), so that a new
    release can find, for any unit, the published units inside it and refuse when what is
    left over is below the minimum size. `release` gains when an identical release was last
    written (one ledger row per release id) and, for the cell key method, the measured minimum
    variance of the perturbation table used (never its parameters)."""
    for sql in (
        "ALTER TABLE release ADD COLUMN last_written_at TEXT CHECK (last_written_at IS NULL OR "
        "length(last_written_at) <= 40)",
        "ALTER TABLE release ADD COLUMN writes INTEGER NOT NULL DEFAULT 1 CHECK (writes >= 1)",
        "ALTER TABLE release ADD COLUMN ptable_min_variance REAL",
        """CREATE TABLE release_members (
  cells TEXT PRIMARY KEY CHECK (length(cells) = 40),
  level TEXT NOT NULL CHECK (length(level) <= 20),
  code TEXT NOT NULL CHECK (length(code) <= 50),
  members TEXT NOT NULL CHECK (json_valid(members)),
  seq INTEGER NOT NULL REFERENCES release (seq)
) STRICT""",
    ):
        db.execute(sql)


def create_dp_tables(db: Database) -> None:
    """Differential privacy (issue 17): `dp_cells` keeps, per enumeration area and table, the
    noisy counts last drawn (a JSON list of integers, never exact counts), the digest of the
    exact data they were drawn from and the rho spent; `dp_spent` the privacy loss (rho,
    zCDP) spent so far on each area's people, which the survey's budget bounds."""
    for sql in (
        """CREATE TABLE dp_cells (
  area TEXT NOT NULL CHECK (length(area) BETWEEN 1 AND 40),
  tbl TEXT NOT NULL CHECK (tbl IN ('persons', 'households')),
  digest TEXT NOT NULL CHECK (length(digest) = 64),
  rho REAL NOT NULL CHECK (rho > 0),
  cells TEXT NOT NULL CHECK (json_valid(cells)),
  drawn_at TEXT NOT NULL,
  release TEXT NOT NULL CHECK (length(release) = 10),
  PRIMARY KEY (area, tbl)
) STRICT""",
        """CREATE TABLE dp_spent (
  area TEXT PRIMARY KEY CHECK (length(area) BETWEEN 1 AND 40),
  rho REAL NOT NULL CHECK (rho >= 0)
) STRICT""",
    ):
        db.execute(sql)
    # The ledger's method CHECK gains 'dp'. A CHECK is not part of the file format, so the
    # table's recorded SQL is changed in place, as SQLite documents for such changes ("Making
    # other kinds of table schema changes": writable_schema, a new schema_version, and an
    # integrity check), rather than rebuilding a table other tables refer to.
    old = "method IN ('rr3', 'ckm', 'none')"
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND "
               "name = 'release'", (old, "method IN ('rr3', 'ckm', 'dp', 'none')"))
    db.execute(f"PRAGMA schema_version = {int(version) + 1}")
    db.execute("PRAGMA writable_schema = OFF")
    problems = [r[0] for r in db.execute("PRAGMA integrity_check").fetchall()]
    if problems != ["ok"]:  # pragma: no cover - only a damaged file could get here
        raise RuntimeError(f"integrity check after the ledger's change: {problems[0]}")


def create_completion_column(db: Database) -> None:
    """Daily field reports (issue 15, second pass). A household keeps when it was first
    completed (`completed_at`: the local time, to the minute, of the device it was completed
    on, as visits' times are), whatever happens to it later; and the reports read only their
    period, through indexes on the times they select by.

    Households already complete, returned or approved get the best time this database has,
    converted from UTC to the local time of the computer that migrates it: the first audit
    entry here that made it complete (the enumerator's own device); else, for a form received
    complete, its sender's last save; else the latest completed visit to its dwelling; else its
    last save here."""
    def local(column: str) -> str:
        return f"strftime('%Y-%m-%dT%H:%M', {column}, 'localtime')"

    for sql in (
        f"ALTER TABLE household ADD COLUMN completed_at TEXT {_time('completed_at')}",
        f"""UPDATE household SET completed_at = {local('first.at')} FROM (
  SELECT record_id, min(at) AS at FROM audit
  WHERE record_type = 'household' AND field = 'status' AND new = 'complete' GROUP BY record_id
) AS first WHERE first.record_id = household.id
  AND household.status IN ('complete', 'returned', 'approved')""",
        f"""UPDATE household SET completed_at = coalesce(
  CASE WHEN status = 'complete' AND source IS NOT NULL THEN {local('updated_at')} END,
  (SELECT max(v.at) FROM visit v WHERE v.dwelling_id = household.dwelling_id
   AND v.outcome = 'completed'),
  {local('updated_at')})
WHERE completed_at IS NULL AND status IN ('complete', 'returned', 'approved')""",
        # A report reads its period through these. Narrow on purpose: covering indexes made
        # the report 0.65 s instead of 0.8 s on 100,000 households but every merge 24 % slower
        # (bench/merge_bundles.py), and merging is the supervisor's daily work.
        "CREATE INDEX household_completed ON household (completed_at) "
        "WHERE completed_at IS NOT NULL",
        "CREATE INDEX visit_at ON visit (at)",
        # Each enumerator's first visit ever (idle days) without reading every visit.
        "CREATE INDEX visit_enumerator ON visit (enumerator, at)",
        "CREATE INDEX decision_at ON decision (at)",
    ):
        db.execute(sql)


def migrations(config: SurveyConfig) -> Migrations:
    """The migration set of a census database whose survey config is `config`."""
    m = Migrations("census")

    @m(name="0001_initial")
    def initial(db: Database) -> None:
        create_tables(db, config)

    @m(name="0002_transfers")
    def transfers(db: Database) -> None:
        create_transfer_tables(db)

    @m(name="0003_release_ledger")
    def release_ledger(db: Database) -> None:
        create_release_tables(db)

    @m(name="0004_release_cells")
    def release_cells(db: Database) -> None:
        create_release_cells_table(db)

    @m(name="0005_lifecycle")
    def lifecycle(db: Database) -> None:
        create_lifecycle_tables(db)

    @m(name="0006_transfer_files")
    def transfer_files(db: Database) -> None:
        create_file_columns(db)

    @m(name="0007_release_units")
    def release_units(db: Database) -> None:
        create_release_unit_tables(db)

    @m(name="0008_dp")
    def dp_tables(db: Database) -> None:
        create_dp_tables(db)

    @m(name="0009_completed_at")
    def completed_at(db: Database) -> None:
        create_completion_column(db)

    @m(name="0010_area_sums")
    def area_sums(db: Database) -> None:
        from census.storage.area_sums import create_area_sums

        create_area_sums(db, config)

    @m(name="0011_keying")
    def keying(db: Database) -> None:
        from census.storage.keying import create_keying_tables

        create_keying_tables(db)

    return m
