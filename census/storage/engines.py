"""Where an export's exact sums come from (issue 18): the records of this database (SQLite, as
always), or a collection of area aggregates (`census export aggregates`) tabulated by one of three
engines: SQLite in memory, DuckDB (embedded) or Spark (local mode or a cluster).

Every source answers the same three questions, per enumeration area and in area order, with the
same integers: the households counted and every cell's count and key sum (`person_totals`), the
households by size (`household_sizes`), the dwellings by last outcome (`dwelling_outcomes`). The
three engines run the same SQL text over the same Parquet files; only how the files become
tables differs. Every sum is an integer from end to end: no float (DuckDB's `2^32` and Spark's
`pow(2, 32)` are floats, and a sum of keys passes 2^53), and every sum is cast to BIGINT (DuckDB
sums BIGINT into HUGEINT)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from census.domain.config import SurveyConfig
from census.domain.errors import CensusError
from census.domain.model import LAST_VISIT_STATES
from census.formats.aggregate_files import Collection
from census.i18n import _
from census.storage import sums
from census.storage.store import Store

ENGINES = ("sqlite", "duckdb", "spark")
PersonTotal = tuple[str, int, list[int], list[int]]


class EngineError(CensusError):
    """An engine that cannot run here (not installed, no Java); the message says what to do."""


class SumSource(Protocol):
    """The exact sums an export publishes from (see the module's text)."""

    engine: str
    statuses: dict[str, str] | None
    """Per enumeration area, "open" or "closed" as the source says; None: the database's."""

    def person_totals(self, areas: Sequence[str] | None = None) -> Iterator[PersonTotal]: ...

    def household_sizes(self, areas: Sequence[str] | None = None
                        ) -> Iterator[tuple[str, int, int, int]]:
        """(area, size class 1 … LARGEST, where LARGEST stands for "LARGEST or more",
        households, key sum)."""
        ...

    def dwelling_outcomes(self, areas: Sequence[str] | None = None
                          ) -> Iterator[tuple[str, str, int]]: ...

    def listed_areas(self, areas: Sequence[str]) -> Iterator[str]: ...

    def close(self) -> None: ...


class RecordSums:
    """The database's own records (`census.storage.sums`): the supervisor's path."""

    engine = "sqlite"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.statuses: dict[str, str] | None = None

    def person_totals(self, areas: Sequence[str] | None = None) -> Iterator[PersonTotal]:
        return sums.person_totals(self.store, areas)

    def household_sizes(self, areas: Sequence[str] | None = None
                        ) -> Iterator[tuple[str, int, int, int]]:
        return sums.household_sizes(self.store, areas)

    def dwelling_outcomes(self, areas: Sequence[str] | None = None
                          ) -> Iterator[tuple[str, str, int]]:
        return sums.dwelling_outcomes(self.store, areas)

    def listed_areas(self, areas: Sequence[str]) -> Iterator[str]:
        return sums.listed_areas(self.store, areas)

    def close(self) -> None:
        """The store belongs to the caller."""


def _text(value: str) -> str:
    """A SQL string literal (codes of the survey config), quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _by_area(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[str, list[Sequence[Any]]]]:
    """Rows ordered by area (their first column), grouped."""
    area: str | None = None
    group: list[Sequence[Any]] = []
    for row in rows:
        if row[0] != area and group:
            yield str(area), group
            group = []
        area = row[0]
        group.append(row)
    if group:
        yield str(area), group


class CollectedSums:
    """Sums over a collection of aggregates; an engine subclass makes the four tables (areas,
    persons, households, dwellings) and a table `wanted` of the areas asked for, and runs SQL."""

    engine = ""

    def __init__(self, collection: Collection, config: SurveyConfig) -> None:
        self.cells = config.cells
        self.statuses: dict[str, str] | None = dict(collection.statuses)
        self._wanted: tuple[str, ...] | None = None

    # -- what an engine provides
    def _run(self, sql: str) -> Iterator[Sequence[Any]]:
        raise NotImplementedError

    def _want(self, areas: Sequence[str]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- the same SQL on every engine
    def _where(self, alias: str, areas: Sequence[str] | None) -> str:
        """The filter to `areas` (none when None); the engine's table of them is made once
        for the same areas (a query reads it twice; the plan asks for sizes and outcomes of
        the same areas)."""
        if areas is None:
            return ""
        wanted = tuple(areas)
        if wanted != self._wanted:
            try:
                self._want(wanted)
            except Exception as exc:
                raise self._failed(exc) from None
            self._wanted = wanted
        return f" WHERE {alias}.area IN (SELECT w.area FROM wanted w)"

    def _failed(self, exc: Exception) -> EngineError:
        """An engine's own failure (the files were checked before: a cluster that cannot be
        reached, a disk that went away), in one line."""
        text = str(exc).strip().splitlines()
        return EngineError(_("The {engine} engine failed while reading the aggregates: "
                             "{error}. Nothing was exported.").format(
            engine=self.engine, error=(text[0] if text else type(exc).__name__)[:300]))

    def _rows(self, sql: str) -> Iterator[Sequence[Any]]:
        try:
            yield from self._run(sql)
        except Exception as exc:
            raise self._failed(exc) from None

    def person_totals(self, areas: Sequence[str] | None = None) -> Iterator[PersonTotal]:
        # One row per area: its households, then every cell's count and key sum in the
        # config's order (a conditional sum per cell; the config's codes as literals).
        where = self._where("p", areas)
        counts = ", ".join(
            f"CAST(sum(CASE WHEN p.sex = {_text(s)} AND p.age_band = {_text(b)} THEN p.count "
            "ELSE 0 END) AS BIGINT)" for s, b in self.cells)
        keys = ", ".join(
            f"CAST(sum(CASE WHEN p.sex = {_text(s)} AND p.age_band = {_text(b)} THEN "
            "p.key_sum ELSE 0 END) AS BIGINT)" for s, b in self.cells)
        n = len(self.cells)
        sql = (f"SELECT t.area, t.households, c.* FROM (SELECT a.area AS area, "
               f"CAST(sum(a.households) AS BIGINT) AS households FROM areas a"
               f"{self._where('a', areas)} GROUP BY a.area) t JOIN (SELECT p.area AS "
               f"area_, {counts}, {keys} FROM persons p{where} GROUP BY p.area) c "
               "ON c.area_ = t.area WHERE t.households > 0 ORDER BY t.area")
        for row in self._rows(sql):
            yield (str(row[0]), int(row[1]), [int(v) for v in row[3:3 + n]],
                   [int(v) for v in row[3 + n:3 + 2 * n]])

    def household_sizes(self, areas: Sequence[str] | None = None
                        ) -> Iterator[tuple[str, int, int, int]]:
        sql = ("SELECT h.area, h.size, CAST(sum(h.count) AS BIGINT), CAST(sum(h.key_sum) AS "
               f"BIGINT) FROM households h{self._where('h', areas)} GROUP BY h.area, h.size "
               "HAVING sum(h.count) > 0 ORDER BY h.area, h.size")
        for row in self._rows(sql):
            yield str(row[0]), int(row[1]), int(row[2]), int(row[3])

    def dwelling_outcomes(self, areas: Sequence[str] | None = None
                          ) -> Iterator[tuple[str, str, int]]:
        sql = ("SELECT d.area, d.outcome, CAST(sum(d.count) AS BIGINT) FROM dwellings d"
               f"{self._where('d', areas)} GROUP BY d.area, d.outcome HAVING sum(d.count) > 0 "
               "ORDER BY d.area")
        order = {o: i for i, o in enumerate(LAST_VISIT_STATES)}
        for area, group in _by_area(self._rows(sql)):
            # In the order of the record path (the outcomes' own order), whatever the engine.
            for row in sorted(group, key=lambda r: order.get(str(r[1]), len(order))):
                yield area, str(row[1]), int(row[2])


    def listed_areas(self, areas: Sequence[str]) -> Iterator[str]:
        sql = (f"SELECT d.area FROM dwellings d{self._where('d', areas)} GROUP BY d.area "
               "HAVING sum(d.count) > 0 ORDER BY d.area")
        for row in self._rows(sql):
            yield str(row[0])


class SQLiteSums(CollectedSums):
    """The aggregates loaded into an in-memory SQLite database (the standard library's)."""

    engine = "sqlite"

    def __init__(self, collection: Collection, config: SurveyConfig) -> None:
        import sqlite3

        import pyarrow.parquet as pq

        from census.formats.aggregate_files import COLUMNS

        super().__init__(collection, config)
        self.conn = sqlite3.connect(":memory:")
        for table, cols in COLUMNS.items():
            names = [c for c, _kind in cols]
            self.conn.execute(f"CREATE TABLE {table} ({', '.join(names)})")
            marks = ", ".join("?" * len(names))
            for path in collection.files[table]:
                for batch in pq.ParquetFile(path).iter_batches(columns=names):
                    self.conn.executemany(f"INSERT INTO {table} VALUES ({marks})",
                                          zip(*(c.to_pylist() for c in batch.columns),
                                              strict=True))
        self.conn.execute("CREATE INDEX persons_area ON persons(area)")

    def _want(self, areas: Sequence[str]) -> None:
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (area TEXT PRIMARY KEY)")
        self.conn.execute("DELETE FROM wanted")
        self.conn.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((a,) for a in areas))

    def _run(self, sql: str) -> Iterator[Sequence[Any]]:
        yield from self.conn.execute(sql)

    def close(self) -> None:
        self.conn.close()


class DuckDBSums(CollectedSums):
    """DuckDB in this process, reading the Parquet files where they are."""

    engine = "duckdb"

    def __init__(self, collection: Collection, config: SurveyConfig) -> None:
        try:
            import duckdb
        except ImportError:
            raise EngineError(_("The DuckDB engine needs the duckdb package: pip install "
                                "'census[duckdb]' (or --engine sqlite).")) from None
        super().__init__(collection, config)
        self.conn = duckdb.connect(":memory:")
        for table, files in collection.files.items():
            self.conn.read_parquet([str(p) for p in files]).create_view(table)

    def _want(self, areas: Sequence[str]) -> None:
        # A list parameter (registering a Python table would import pandas).
        self.conn.execute("CREATE OR REPLACE TEMP TABLE wanted AS SELECT unnest(?::VARCHAR[]) "
                          "AS area", [list(areas)])

    def _run(self, sql: str) -> Iterator[Sequence[Any]]:
        cursor = self.conn.execute(sql)
        while batch := cursor.fetchmany(100_000):
            yield from batch

    def close(self) -> None:
        self.conn.close()


class SparkSums(CollectedSums):
    """Spark SQL through pyspark: local mode by default, or the cluster that the usual Spark
    configuration names (spark-defaults.conf, PYSPARK_SUBMIT_ARGS; README "National scale").
    The files must be readable at the same path by every executor (a shared disk)."""

    engine = "spark"

    def __init__(self, collection: Collection, config: SurveyConfig) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise EngineError(_("The Spark engine needs the pyspark package: pip install "
                                "'census[spark]', and Java 17 or later (or --engine duckdb)."
                                )) from None
        super().__init__(collection, config)
        # The JVM writes its log to the standard error it is started with: a file of its
        # own, so that the terminal shows census's progress and messages only.
        with tempfile.TemporaryFile() as log:
            saved = os.dup(2)
            try:
                os.dup2(log.fileno(), 2)
                self.spark = (SparkSession.builder.appName("census export tables")
                              .config("spark.sql.ansi.enabled", "true")
                              .config("spark.ui.enabled", "false")
                              .config("spark.ui.showConsoleProgress", "false").getOrCreate())
            except Exception as exc:  # the JVM did not start: Java missing or too old
                log.seek(0)
                said = [line for line in log.read().decode(errors="replace").splitlines()
                        if line.strip()]
                raise EngineError(_(
                    "Spark could not start ({error}); it needs Java 17 or later (e.g. apt "
                    "install openjdk-17-jre-headless, or JAVA_HOME). Or use --engine duckdb."
                ).format(error=(said[-1] if said else str(exc).splitlines()[0] if str(exc)
                                else type(exc).__name__)[:200])) from None
            finally:
                os.dup2(saved, 2)
                os.close(saved)
        self.spark.sparkContext.setLogLevel("ERROR")
        try:
            for table, files in collection.files.items():
                # As file: paths: a bare path would be read from the cluster's default file
                # system (HDFS on YARN), not from the shared disk census checked. (Hadoop
                # takes them as they are: percent-encoding would be read literally.)
                self.spark.read.parquet(*(f"file://{p.resolve()}" for p in files)
                                        ).createOrReplaceTempView(table)
        except Exception as exc:
            raise self._failed(exc) from None

    def _want(self, areas: Sequence[str]) -> None:
        frame = self.spark.createDataFrame([(a,) for a in areas], "area string")
        frame.createOrReplaceTempView("wanted")

    def _run(self, sql: str) -> Iterator[Sequence[Any]]:
        for row in self.spark.sql(sql).toLocalIterator():
            yield tuple(row)

    def close(self) -> None:
        """The session stays for the process (starting Spark costs seconds); it ends with
        it."""


def open_collected(engine: str, collection: Collection, config: SurveyConfig) -> SumSource:
    """A source over `collection` run by `engine` (one of ENGINES)."""
    kinds: dict[str, type[CollectedSums]] = {
        "sqlite": SQLiteSums, "duckdb": DuckDBSums, "spark": SparkSums}
    return kinds[engine](collection, config)  # the request was checked (plan.check)
