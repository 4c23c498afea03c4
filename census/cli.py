"""The `census` command line: a thin click layer over the library (never imports Textual).

Heavy modules (the encrypted store, cryptography) are imported inside the commands that need
them, so `census --help` starts as fast as click itself. Every failure becomes a message that
says what went wrong and how to fix it, with a non-zero exit status; no traceback reaches a user.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from census.i18n import _, ngettext, set_language

if TYPE_CHECKING:
    from census.storage.store import Store

F = TypeVar("F", bound=Callable[..., Any])
DEMO_PASSPHRASE = "demo"
PASSPHRASE_FILE_BYTES = 4096  # read of a --passphrase-file (its first line is the passphrase)
CONFIG_FILE_BYTES = 1 << 20  # a survey config is a few KiB
BAD_INPUT = 2


class UserError(click.ClickException):
    """A problem with what the user gave us; printed as `Error: …`, exit status 2."""

    exit_code = BAD_INPUT


def _explain(exc: BaseException) -> str | None:
    """A user-facing message for known failures, None for a bug."""
    from census.config import ConfigError
    from census.storage.connection import StoreError, explain

    if isinstance(exc, StoreError | ConfigError):
        return str(exc)
    message = explain(exc)
    if message is not None:
        return message
    text = str(exc)
    if isinstance(exc, OSError):
        if exc.filename:
            return _("Cannot use {target}: {error}.").format(target=exc.filename,
                                                             error=exc.strerror or text)
        return _("The operating system refused: {error}.").format(error=exc.strerror or text)
    return None


class CensusGroup(click.Group):
    """A click group that turns known exceptions into messages (and bugs into a short notice)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (e.g. `census progress | head`): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise click.exceptions.Exit(0) from None
        except KeyboardInterrupt:
            raise click.ClickException(_("Interrupted; the last completed step was kept, "
                                         "nothing half-written.")) from None
        except Exception as exc:
            message = _explain(exc)
            if message is not None:
                raise UserError(message) from exc
            if os.environ.get("CENSUS_DEBUG"):
                raise
            raise click.ClickException(_(
                "Internal error ({kind}): {error}. Nothing more was changed. Please report this "
                "with the command you ran (set CENSUS_DEBUG=1 to see details).").format(
                kind=type(exc).__name__, error=exc)) from exc


def db_options(func: F) -> F:
    """--db and --passphrase-file, taken by every command that opens a database."""
    func = click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
                        help="Read the database passphrase from this file's first line "
                             "(else CENSUS_PASSPHRASE, else a prompt).")(func)
    func = click.option("--db", "db_path", type=click.Path(path_type=Path),
                        help="Database file (default: census.db in the user data folder).")(func)
    return func


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print machine-readable JSON.")(func)


def _db_path(db_path: Path | None) -> Path:
    from census.config import default_db_path

    return db_path if db_path is not None else default_db_path()


def get_passphrase(passphrase_file: Path | None, *, new: bool = False) -> str:
    """The passphrase from --passphrase-file, CENSUS_PASSPHRASE, or a prompt without echo."""
    if passphrase_file is not None:
        try:
            with passphrase_file.open("rb") as fh:  # the first line only: never a whole file
                text = fh.read(PASSPHRASE_FILE_BYTES).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(_("Cannot read the passphrase file {path}: {error}.").format(
                path=passphrase_file, error=getattr(exc, "strerror", None) or exc)) from exc
        lines = text.lstrip("\ufeff").splitlines()
        phrase = lines[0] if lines else ""
        if not phrase:
            raise UserError(_("The passphrase file {path} is empty; put the passphrase on its "
                              "first line.").format(path=passphrase_file))
        return phrase
    env = os.environ.get("CENSUS_PASSPHRASE")
    if env:
        return env
    if not sys.stdin.isatty():
        raise UserError(_("No passphrase: set CENSUS_PASSPHRASE, use --passphrase-file, or run "
                          "in a terminal to be asked for it."))
    if new:
        return str(click.prompt(_("New database passphrase"), hide_input=True,
                                confirmation_prompt=True))
    return str(click.prompt(_("Database passphrase"), hide_input=True))


@contextmanager
def open_store(db_path: Path | None, passphrase_file: Path | None) -> Iterator[Store]:
    from census.storage.store import Store

    path = _db_path(db_path)
    if not path.exists():
        raise UserError(_("There is no census database at {path}. Create one with `census init "
                          "--db {path}`, or try the demo: `census demo`.").format(path=path))
    store = Store.open(path, get_passphrase(passphrase_file))
    try:
        yield store
    finally:
        store.close()


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn a file that cannot be read, or is not UTF-8 text, into a message."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise UserError(_("{path} is not UTF-8 text (byte {pos}); save it as UTF-8.")
                        .format(path=path, pos=exc.start)) from exc
    except OSError as exc:
        raise UserError(_("Cannot read {path}: {error}.").format(
            path=path, error=exc.strerror)) from exc


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def _now() -> datetime:
    return datetime.now().replace(second=0, microsecond=0)


@click.group(cls=CensusGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--lang", help="Language of messages (en, fr, es, zh_CN); default: the locale.")
@click.version_option(package_name="census", message="census %(version)s")
@click.pass_context
def cli(ctx: click.Context, lang: str | None) -> None:
    """census: enter household counts door to door, merge them, publish protected tables.

    It counts people and never records who they are. Run `census demo` to make a demo database,
    then `census` to open it. Every command has --help.
    """
    set_language(lang)
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            ctx.invoke(tui)
        else:
            ctx.invoke(status)


@cli.command()
@db_options
def tui(db_path: Path | None, passphrase_file: Path | None) -> None:
    """Open the interactive app (what bare `census` does in a terminal).

    Asks for the passphrase unless CENSUS_PASSPHRASE or --passphrase-file gives it. Keys can be
    remapped in settings.toml in the user config folder ([keys] binding-id = "key").
    """
    from platformdirs import user_config_path

    path = _db_path(db_path)
    if not path.exists():
        raise UserError(_("There is no census database at {path}. Try the demo first: "
                          "`census demo`, then `census`; or create one with `census init`.")
                        .format(path=path))
    passphrase = None
    opening = None
    if passphrase_file is not None or os.environ.get("CENSUS_PASSPHRASE"):
        passphrase = get_passphrase(passphrase_file)
        # Derive the key (SQLCipher's PBKDF2, a few hundred ms) while Textual loads.
        from concurrent.futures import ThreadPoolExecutor

        from census.storage.store import Store

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="census-open")
        opening = pool.submit(Store.open, path, passphrase, True)
        pool.shutdown(wait=False)
    from census.tui.app import CensusApp, keymap_from_settings

    keymap = keymap_from_settings(user_config_path("census", appauthor=False) / "settings.toml")
    app = CensusApp(path, passphrase, keymap, opening=opening)
    app.run()
    if app.return_code:
        sys.exit(app.return_code)


@cli.command()
@db_options
@json_option
def status(db_path: Path | None, passphrase_file: Path | None, as_json: bool = False) -> None:
    """Show the database, its survey and the coverage of its areas (what bare `census` does
    outside a terminal)."""
    path = _db_path(db_path)
    if as_json:
        if not path.exists():
            _print_json({"database": str(path), "exists": False})
            return
        with open_store(db_path, passphrase_file) as store:
            _print_json({"database": str(path), "exists": True, "survey": store.config.name,
                         "config": store.config.digest(), "role": str(store.role),
                         "user": store.user,
                         "areas": [_progress_dict(r) for r in store.progress(_now())]})
        return
    if not path.exists():
        click.echo(_("No census database yet at {path}.").format(path=path))
        click.echo(_("Try the demo: `census demo`, then `census` again; or start a survey with "
                     "`census init`. See `census --help`."))
        return
    with open_store(db_path, passphrase_file) as store:
        click.echo(_("Database: {path}").format(path=path))
        click.echo(_("Survey: {name}; role: {role}; user: {user}").format(
            name=store.config.name, role=store.role, user=store.user))
        click.echo("")
        _progress_table(store.progress(_now()))
        click.echo("")
        from census.domain.model import Role
        from census.storage import exchange

        if store.role is not Role.ENUMERATOR:
            open_items = sum(exchange.review_counts(store).values())
            click.echo(_("Review items open: {n} (`census review list`).").format(n=open_items))
        up = exchange.upstream(store)
        if exchange.device_keys(store) is None:
            click.echo(_("No keys yet: `census keys init` makes them, to exchange files with "
                         "other levels."))
        elif up is None and store.role is not Role.OFFICE:
            click.echo(_("No supervisor yet: import your assignment file with `census "
                         "assignment import FILE`."))
        click.echo(_("Commands: census progress | check | forms import | area list | "
                     "bundle export | bundle import | review list | audit verify (each with "
                     "--help)."))


@cli.command()
@db_options
@click.option("--role", type=click.Choice(["enumerator", "supervisor", "office"]),
              default="enumerator", show_default=True, help="Who uses this database.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Survey config (TOML); default: the built-in config (`census config`).")
@click.option("--user", help="The code of the person using this database (a code, never a "
                             "name); default E001.")
def init(db_path: Path | None, passphrase_file: Path | None, role: str,
         config_file: Path | None, user: str | None) -> None:
    """Create an encrypted census database for a survey config.

    Running it again on an existing database checks that the config is the same; a changed
    config is refused, because stored counts would be read with other categories.
    """
    from census.config import ConfigError, default_config, parse_config
    from census.domain.model import Role
    from census.storage.store import Store

    path = _db_path(db_path)
    if config_file is not None:
        try:
            if config_file.stat().st_size > CONFIG_FILE_BYTES:
                raise UserError(_("{path} is {size} bytes; a survey config is at most {limit} "
                                  "bytes. Give the config's TOML file (`census config` prints "
                                  "one).").format(path=config_file,
                                                  size=config_file.stat().st_size,
                                                  limit=CONFIG_FILE_BYTES))
            text = config_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(_("Cannot read the config file {path}: {error}.").format(
                path=config_file, error=getattr(exc, "strerror", None) or exc)) from exc
        try:
            config = parse_config(text, str(config_file))
        except ConfigError as exc:
            raise UserError(str(exc)) from exc
    else:
        config = default_config()
    from census.domain.ids import is_code

    if user is not None and not is_code(user):
        raise UserError(_("--user {value!r} is not a code (letters, digits, - and _, at most "
                          "40); users are codes, never names.").format(value=user))
    if path.exists():
        with open_store(path, passphrase_file) as store:
            if store.config != config:
                raise UserError(_(
                    "{path} was created for another survey config ({old}, '{old_name}'); the "
                    "given config ({new}, '{new_name}') differs, so it is refused: stored counts "
                    "would be read with other categories. Use a new --db for the new config."
                ).format(path=path, old=store.config.digest(), old_name=store.config.name,
                         new=config.digest(), new_name=config.name))
            if str(store.role) != role:
                raise UserError(_("{path} is already a {old} database; its role cannot change "
                                  "to {new}.").format(path=path, old=store.role, new=role))
            if user is not None and store.user != user:
                raise UserError(_("{path} is already used by {old}; its user cannot change to "
                                  "{new}.").format(path=path, old=store.user, new=user))
            click.echo(_("{path} is already initialised with this config; nothing changed.")
                       .format(path=path))
            return
    store = Store.create(path, get_passphrase(passphrase_file, new=True), config, Role(role),
                         user or "E001")
    store.close()
    click.echo(_("Created {path} ({role}, survey '{name}', config {digest}).").format(
        path=path, role=role, name=config.name, digest=config.digest()))


@cli.command("config")
def config_cmd() -> None:
    """Print the built-in survey config (TOML), to copy and adapt for `census init --config`."""
    from census.config import DEFAULT_CONFIG_TOML

    click.echo(DEFAULT_CONFIG_TOML, nl=False)


@cli.command()
@db_options
@click.option("--households", default=400, show_default=True,
              type=click.IntRange(1, 2_000_000), help="About how many households to create.")
@click.option("--role", type=click.Choice(["enumerator", "supervisor"]), default="enumerator",
              show_default=True, help="Whose database: a supervisor's demo has every area but "
              "the last closed (its few callbacks left as they are), ready for `census export "
              "tables`.")
def demo(db_path: Path | None, passphrase_file: Path | None, households: int,
         role: str = "enumerator") -> None:
    """Create a demo database with a synthetic population in a few enumeration areas.

    Uses CENSUS_PASSPHRASE (or --passphrase-file) when given, else the passphrase `demo`,
    which it prints. Scales to 1,000,000 households for benchmarks. With --role supervisor
    every area but the last (still being worked) is closed.
    """
    from census import demo as demo_mod
    from census.config import default_config
    from census.domain.model import Role
    from census.forms import store_dwellings
    from census.storage.store import Store

    path = _db_path(db_path)
    if path.exists():
        if db_path is None:
            click.echo(_("A database already exists at {path}; nothing was changed. Open it "
                         "with `census`, or give another --db for a new demo.").format(path=path))
        else:
            click.echo(_("A database already exists at {path}; nothing was changed. Open it "
                         "with `census tui --db {path}`, or give another --db for a new demo.")
                       .format(path=path))
        return
    given = passphrase_file is not None or bool(os.environ.get("CENSUS_PASSPHRASE"))
    phrase = get_passphrase(passphrase_file) if given else DEMO_PASSPHRASE
    config = default_config()
    plan = demo_mod.plan(config, households)
    supervisor = role == "supervisor"
    store = Store.create(path, phrase, config, Role.SUPERVISOR if supervisor else Role.ENUMERATOR,
                         "S01" if supervisor else plan.enumerator)
    problems: list[str] = []
    try:
        store.import_areas(plan.areas, plan.enumerator)
        with store.bulk():
            report = store_dwellings(store, demo_mod.dwellings(config, plan, _now()),
                                     now=_now(), sink=lambda line, p: problems.append(str(p)))
        if problems:
            raise click.ClickException(_("The demo generator made invalid records: {first}")
                                       .format(first=problems[0]))
        if supervisor:
            from census.storage import exchange

            eas = sorted(a.code for a in plan.areas if a.level == config.levels[-1])
            for code in eas[:-1]:
                exchange.close_area(store, code, store.user)
    except BaseException:
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        raise
    store.close()
    click.echo(_("Created the demo database {path} (areas: {areas}; dwellings: {dwellings}; "
                 "households: {households}).").format(
        path=path, areas=len(plan.areas), dwellings=report.dwellings.added,
        households=report.households.added))
    if not given:
        click.echo(_("Its passphrase is: {phrase}   (or set CENSUS_PASSPHRASE={phrase})").format(
            phrase=DEMO_PASSPHRASE))


@cli.group(cls=CensusGroup)
def area() -> None:
    """Register and list areas (regions, districts, enumeration areas)."""


@area.command("import")
@db_options
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def area_import(db_path: Path | None, passphrase_file: Path | None, file: Path) -> None:
    """Add or update areas from a CSV file with the columns
    code,parent,level,name,expected_dwellings,enumerator. All or nothing."""
    from census.area_file import read_areas

    with open_store(db_path, passphrase_file) as store:
        with reading(file), file.open(encoding="utf-8", newline="") as fh:
            areas, problems = read_areas(fh, store.config, store.area_levels())
        if problems:
            for p in problems:
                click.echo(p.render(str(file)))
            raise UserError(ngettext("{n} problem in {path}; no area was imported.",
                                     "{n} problems in {path}; no area was imported.",
                                     len(problems)).format(n=len(problems), path=file))
        added, updated, unchanged = store.import_areas(areas, store.user)
    click.echo(_("{path}: added {added}, updated {updated}, unchanged {unchanged}.").format(
        path=file, added=added, updated=updated, unchanged=unchanged))


@area.command("list")
@db_options
@json_option
def area_list(db_path: Path | None, passphrase_file: Path | None, as_json: bool) -> None:
    """List the registered areas."""
    with open_store(db_path, passphrase_file) as store:
        areas = store.areas()
    if as_json:
        _print_json([{"code": a.code, "parent": a.parent, "level": a.level, "name": a.name,
                      "expected_dwellings": a.expected_dwellings, "enumerator": a.enumerator,
                      "status": str(a.status)} for a in areas])
        return
    if not areas:
        click.echo(_("No areas yet; import them with `census area import FILE.csv`."))
        return
    _table([_("code"), _("level"), _("name"), _("parent"), _("expected"), _("enumerator"),
            _("status")],
           [[a.code, a.level, a.name, a.parent, a.expected_dwellings, a.enumerator, a.status]
            for a in areas])


@cli.group(cls=CensusGroup)
def forms() -> None:
    """Import household-count forms keyed elsewhere (JSON Lines)."""


@forms.command("import")
@db_options
@json_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--all-or-nothing", is_flag=True,
              help="Store nothing unless every line is valid.")
def forms_import(db_path: Path | None, passphrase_file: Path | None, as_json: bool, file: Path,
                 all_or_nothing: bool) -> None:
    """Import dwelling records, one JSON object per line (schema in README).

    Every line goes through the rules; an invalid line is reported as FILE:LINE: RULE field:
    message and not stored. Exit status 1 if any line was invalid. Importing the same file
    again changes nothing.
    """
    from census.forms import import_lines, read_lines

    found: list[dict[str, Any]] = []

    def sink(line: int, problem: Any) -> None:
        if as_json:
            found.append({"line": line, "rule": problem.rule_id, "field": problem.field,
                          "severity": str(problem.severity), "message": problem.message()})
        else:
            click.echo(f"{file}:{line}: {problem}")

    with open_store(db_path, passphrase_file) as store, reading(file), file.open("rb") as fh:
        report = import_lines(store, read_lines(fh), now=_now(), sink=sink,
                              all_or_nothing=all_or_nothing)
    if as_json:
        _print_json({**report.as_dict(), "problems_found": found})
    else:
        d, h = report.dwellings, report.households
        click.echo(_("{path}: lines {lines}, invalid {invalid}. Dwellings: added {da}, updated "
                     "{du}, unchanged {dn}, older skipped {do}. Households: added {ha}, updated "
                     "{hu}, unchanged {hn}, older skipped {ho}.").format(
            path=file, lines=report.lines, invalid=report.invalid_lines, da=d.added,
            du=d.updated, dn=d.unchanged, do=d.older, ha=h.added, hu=h.updated, hn=h.unchanged,
            ho=h.older))
        if not report.stored:
            click.echo(_("--all-or-nothing: nothing was stored because of the invalid lines."))
    if report.invalid_lines:
        sys.exit(1)


@cli.command()
@db_options
@json_option
@click.option("--area", "area_code", help="Check only this area (and the areas below it).")
def check(db_path: Path | None, passphrase_file: Path | None, as_json: bool,
          area_code: str | None) -> None:
    """Run every rule over the stored data. Exit status 1 if any error is found."""
    from census.forms import context
    from census.validation.engine import (
        NaturalKey,
        check_area,
        check_dwelling,
        check_listing_size,
    )
    from census.validation.rules import Severity

    found: list[dict[str, Any]] = []
    errors = 0
    with open_store(db_path, passphrase_file) as store:
        levels = store.area_levels()
        if area_code is not None and area_code not in levels:
            raise UserError(_("Unknown area {code}; see `census area list`.").format(
                code=area_code))
        ctx = context(store, None)
        scope = store.subtree(area_code) if area_code else sorted(levels)
        rows = {r.area: r for r in store.progress(_now(), area_code)}
        for code in scope:
            keys = []
            where = {}
            problems = []
            for d in store.iter_dwellings([code]):
                for p in check_dwelling(d, ctx):
                    problems.append((f"{d.structure}/{d.number}", p))
                for h in d.households:
                    keys.append(NaturalKey(d.area, d.structure, d.number, h.number, h.id))
                    where[h.id] = f"{d.structure}/{d.number}"
            for p in check_area(keys):
                problems.append((where.get(p.field, ""), p))
            if code in rows:
                r = rows[code]
                problems += [("", p) for p in check_listing_size(code, r.listed, r.expected)]
            for place, p in problems:
                if p.confirmed:
                    continue
                errors += p.severity is Severity.ERROR
                item = {"area": code, "dwelling": place, "rule": p.rule_id, "field": p.field,
                        "severity": str(p.severity), "message": p.message()}
                found.append(item)
                if not as_json:
                    click.echo(f"{code} {place} {p}".replace("  ", " "))
    if as_json:
        _print_json({"problems": found, "errors": errors})
    else:
        click.echo(_("Problems: {n}; errors: {e}.").format(n=len(found), e=errors))
    if errors:
        sys.exit(1)


def _progress_table(rows: list[Any], by: str = "area") -> None:
    if not rows:
        click.echo(_("No enumeration areas yet; import them with `census area import`."))
        return
    now = _now()

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    first = [_("enumerator"), _("areas")] if by == "enumerator" else [
        _("area"), _("name"), _("enum.")]
    _table([*first, _("expected"), _("listed"), _("visited"), _("completed"),
            _("callbacks due"), _("refused"), _("vacant"), _("response %"), _("refusal %"),
            _("vacancy %"), _("mean size"), _("idle days")],
           [[*([r.area, r.name] if by == "enumerator" else [r.area, r.name, r.enumerator]),
             r.expected, r.listed, r.visited, r.completed, r.callbacks_due, r.refused, r.vacant,
             pct(r.response_rate), pct(r.refusal_rate), pct(r.vacancy_rate),
             "-" if r.mean_household_size is None else f"{r.mean_household_size:.2f}",
             "-" if r.days_idle(now) is None else r.days_idle(now)] for r in rows])


def _progress_dict(r: Any) -> dict[str, Any]:
    return {**r.__dict__, "response_rate": r.response_rate, "refusal_rate": r.refusal_rate,
            "vacancy_rate": r.vacancy_rate, "mean_household_size": r.mean_household_size,
            "days_idle": r.days_idle(_now())}


@cli.command()
@db_options
@json_option
@click.option("--area", "area_code", help="Only this area (and the areas below it).")
@click.option("--by", type=click.Choice(["area", "enumerator"]), default="area",
              show_default=True, help="One row per enumeration area, or per enumerator.")
def progress(db_path: Path | None, passphrase_file: Path | None, as_json: bool,
             area_code: str | None, by: str) -> None:
    """Coverage per area (or per enumerator): expected, listed, visited, completed, callbacks
    due, refused, vacant, response rate (completed / eligible listed dwellings), refusal and
    vacancy rates (of visited), mean household size and days since the last visit."""
    from census.storage.store import by_enumerator

    with open_store(db_path, passphrase_file) as store:
        if area_code is not None and store.area(area_code) is None:
            raise UserError(_("Unknown area {code}; see `census area list`.").format(
                code=area_code))
        rows = store.progress(_now(), area_code)
    if by == "enumerator":
        rows = by_enumerator(rows)
    if as_json:
        _print_json([_progress_dict(r) for r in rows])
    else:
        _progress_table(rows, by)


@cli.group(cls=CensusGroup)
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command("verify")
@db_options
@json_option
def audit_verify(db_path: Path | None, passphrase_file: Path | None, as_json: bool) -> None:
    """Recompute the audit chain; exit status 1 if any entry was changed, added or removed."""
    with open_store(db_path, passphrase_file) as store:
        result = store.verify_audit()
    if as_json:
        _print_json(result.__dict__)
    elif result.ok:
        click.echo(ngettext("Audit log intact: {n} entry verified.",
                            "Audit log intact: {n} entries verified.",
                            result.entries).format(n=result.entries))
    else:
        click.echo(_("Audit log BROKEN at entry {seq}: {reason}. {n} entries before it verify."
                     ).format(seq=result.broken_at, reason=result.reason, n=result.entries))
    if not result.ok:
        sys.exit(1)


# The field-operation commands live in their own module; importing it registers them.
from census import cli_tables, cli_transfer  # noqa: E402, F401


def main() -> None:
    """Console entry point."""
    cli.main(prog_name="census")
