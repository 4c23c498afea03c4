"""`census init | config | demo | status | tui`: making a database, and looking at it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from census.cli.common import (
    UserError,
    db_options,
    db_path,
    get_passphrase,
    json_option,
    now,
    open_store,
    print_json,
)
from census.cli.progress import progress_dict, progress_table
from census.i18n import _

CONFIG_FILE_BYTES = 1 << 20  # a survey config is a few KiB


@click.command()
@db_options
def tui(db: Path | None, passphrase_file: Path | None) -> None:
    """Open the interactive app (what bare `census` does in a terminal).

    Asks for the passphrase unless CENSUS_PASSPHRASE or --passphrase-file gives it. Keys can be
    remapped in settings.toml in the user config folder ([keys] binding-id = "key").
    """
    from platformdirs import user_config_path

    path = db_path(db)
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


@click.command()
@db_options
@json_option
def status(db: Path | None, passphrase_file: Path | None, as_json: bool = False) -> None:
    """Show the database, its survey and the coverage of its areas (what bare `census` does
    outside a terminal)."""
    path = db_path(db)
    if not path.exists():
        if as_json:
            print_json({"database": str(path), "exists": False})
            return
        click.echo(_("No census database yet at {path}.").format(path=path))
        click.echo(_("Try the demo: `census demo`, then `census` again; or start a survey with "
                     "`census init`. See `census --help`."))
        return
    from census.storage.connection import cipher_settings
    from census.storage.progress import area_progress

    with open_store(db, passphrase_file) as store:
        rows = area_progress(store, now())
        if as_json:
            print_json({"database": str(path), "exists": True, "survey": store.config.name,
                        "config": store.config.digest(), "role": str(store.role),
                        "user": store.user, "encryption": cipher_settings(store.conn),
                        "areas": [progress_dict(r) for r in rows]})
            return
        from census.domain.model import Role
        from census.storage.exchange.peers import device_keys, upstream
        from census.storage.exchange.review import review_counts
        from census.storage.store import purge_pending

        click.echo(_("Database: {path}").format(path=path))
        click.echo(_("Survey: {name}; role: {role}; user: {user}").format(
            name=store.config.name, role=store.role, user=store.user))
        c = cipher_settings(store.conn)
        click.echo(_("Encryption: SQLCipher {version} (page size {page}, {kdf} with {iter} "
                     "iterations, {hmac}, plaintext header {header}); SQLite {sqlite}. Another "
                     "client needs SQLCipher 4 on SQLite 3.37 or newer (README: Reading a "
                     "database elsewhere).").format(
            version=c["cipher_version"], page=c["cipher_page_size"],
            kdf=c["cipher_kdf_algorithm"], iter=c["kdf_iter"], hmac=c["cipher_hmac_algorithm"],
            header=c["cipher_plaintext_header_size"], sqlite=c["sqlite_version"]))
        click.echo("")
        progress_table(rows)
        click.echo("")
        if store.role is not Role.ENUMERATOR:
            open_items = sum(review_counts(store).values())
            click.echo(_("Review items open: {n} (`census review list`).").format(n=open_items))
        up = upstream(store)
        if device_keys(store) is None:
            click.echo(_("No keys yet: `census keys init` makes them, to exchange files with "
                         "other levels."))
        elif up is None and store.role is not Role.OFFICE:
            click.echo(_("No supervisor yet: import your assignment file with `census "
                         "assignment import FILE`."))
        if purge_pending(store):
            click.echo(_("A purge is pending: another program is reading this database, so its "
                         "file still holds deleted forms. Close the other census programs; the "
                         "purge is finished the next time census opens the database."))
        click.echo(_("Commands: census progress | check | forms import | area list | "
                     "bundle export | bundle import | review list | audit verify (each with "
                     "--help)."))


@click.command()
@db_options
@click.option("--role", type=click.Choice(["enumerator", "supervisor", "office"]),
              default="enumerator", show_default=True, help="Who uses this database.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Survey config (TOML); default: the built-in config (`census config`).")
@click.option("--user", help="The code of the person using this database (a code, never a "
                             "name); default E001.")
def init(db: Path | None, passphrase_file: Path | None, role: str,
         config_file: Path | None, user: str | None) -> None:
    """Create an encrypted census database for a survey config.

    Running it again on an existing database checks that the config is the same; a changed
    config is refused, because stored counts would be read with other categories.
    """
    from census.domain.config import default_config, parse_config
    from census.domain.ids import is_code
    from census.domain.model import Role
    from census.storage.store import Store

    path = db_path(db)
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
        config = parse_config(text, str(config_file))  # a ConfigError is a message
    else:
        config = default_config()
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
    from census.validation.passphrase import weak_passphrase

    def why(phrase: str) -> str | None:
        return weak_passphrase(phrase, [user or "E001", path.stem])

    phrase = get_passphrase(passphrase_file, new=True, weak=why)
    weak = why(phrase)
    if weak is not None:
        raise UserError(_("{why} Nothing was created.").format(why=weak))
    store = Store.create(path, phrase, config, Role(role), user or "E001")
    store.close()
    click.echo(_("Created {path} ({role}, survey '{name}', config {digest}).").format(
        path=path, role=role, name=config.name, digest=config.digest()))


@click.command("config")
def config_cmd() -> None:
    """Print the built-in survey config (TOML), to copy and adapt for `census init --config`."""
    from census.domain.config import DEFAULT_CONFIG_TOML

    click.echo(DEFAULT_CONFIG_TOML, nl=False)


@click.command()
@db_options
@click.option("--households", default=400, show_default=True,
              type=click.IntRange(1, 2_000_000), help="About how many households to create.")
@click.option("--role", type=click.Choice(["enumerator", "supervisor"]), default="enumerator",
              show_default=True, help="Whose database: a supervisor's demo has every area but "
              "the last closed (its few callbacks left as they are), ready for `census export "
              "tables`.")
def demo(db: Path | None, passphrase_file: Path | None, households: int,
         role: str = "enumerator") -> None:
    """Create a demo database with a synthetic population in a few enumeration areas.

    Uses CENSUS_PASSPHRASE (or --passphrase-file) when given, else the passphrase `demo`,
    which it prints. Scales to 1,000,000 households for benchmarks. With --role supervisor
    every area but the last (still being worked) is closed.
    """
    from census.domain.model import Role
    from census.usecases.demo import DEMO_PASSPHRASE, DemoError, make_demo

    path = db_path(db)
    if path.exists():
        if db is None:
            click.echo(_("A database already exists at {path}; nothing was changed. Open it "
                         "with `census`, or give another --db for a new demo.").format(path=path))
        else:
            click.echo(_("A database already exists at {path}; nothing was changed. Open it "
                         "with `census tui --db {path}`, or give another --db for a new demo.")
                       .format(path=path))
        return
    given = passphrase_file is not None or bool(os.environ.get("CENSUS_PASSPHRASE"))
    phrase = get_passphrase(passphrase_file) if given else DEMO_PASSPHRASE
    try:
        report = make_demo(path, phrase, households, Role(role), now())
    except DemoError as exc:  # a bug of the generator: exit status 1, as for any bug
        raise click.ClickException(str(exc)) from exc
    click.echo(_("Created the demo database {path} (areas: {areas}; dwellings: {dwellings}; "
                 "households: {households}).").format(
        path=path, areas=report.areas, dwellings=report.dwellings,
        households=report.households))
    if not given:
        click.echo(_("Its passphrase is: {phrase}   (or set CENSUS_PASSPHRASE={phrase})").format(
            phrase=DEMO_PASSPHRASE))
        click.echo(_("The demo is for trying census only: its passphrase protects nothing. A "
                     "real database (`census init`) needs a passphrase of at least 12 "
                     "characters that is not easy to guess."))


def register(group: click.Group) -> None:
    """Add init, config, demo, status and tui to `group`."""
    for command in (init, config_cmd, demo, status, tui):
        group.add_command(command)
