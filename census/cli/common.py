"""What every `census` command shares: the group class that turns failures into messages, the
--db/--passphrase-file/--json options, opening the store, and printing tables and JSON.

Only click and census.i18n are imported here at module level: the store, SQLCipher and
cryptography are imported inside the functions that need them, so `census --help` stays fast.
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

from census.i18n import N_, _

if TYPE_CHECKING:
    from census.storage.store import Store

F = TypeVar("F", bound=Callable[..., Any])

#: Read of a --passphrase-file (its first line is the passphrase).
PASSPHRASE_FILE_BYTES = 4096
#: Exit status of a problem with what the user gave us.
BAD_INPUT = 2

#: Words for the codes that list commands show.
WORDS = {"upstream": N_("upstream"), "downstream": N_("downstream"), "trusted": N_("trusted"),
         "revoked": N_("revoked"), "open": N_("open"), "kept": N_("kept"),
         "took_incoming": N_("took incoming"), "approved": N_("approved"),
         "returned": N_("returned"), "dismissed": N_("dismissed"),
         "superseded": N_("superseded")}


class UserError(click.ClickException):
    """A problem with what the user gave us; printed as `Error: …`, exit status 2."""

    exit_code = BAD_INPUT


def explain(exc: BaseException) -> str | None:
    """A user-facing message for known failures, None for a bug."""
    from census.domain.errors import CensusError
    from census.storage.connection import explain as explain_database

    if isinstance(exc, CensusError):
        return str(exc)
    message = explain_database(exc)
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
            message = explain(exc)
            if message is not None:
                raise UserError(message) from exc
            if os.environ.get("CENSUS_DEBUG"):
                raise
            raise click.ClickException(_(
                "Internal error ({kind}): {error}. Nothing more was changed. Please report this "
                "with the command you ran (set CENSUS_DEBUG=1 to see details).").format(
                kind=type(exc).__name__, error=exc)) from exc


def db_options(func: F) -> F:
    """--db and --passphrase-file, taken by every command that opens a database (as the
    parameters `db` and `passphrase_file`)."""
    func = click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
                        help="Read the database passphrase from this file's first line "
                             "(else CENSUS_PASSPHRASE, else a prompt).")(func)
    func = click.option("--db", "db", type=click.Path(path_type=Path),
                        help="Database file (default: census.db in the user data folder).")(func)
    return func


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print machine-readable JSON.")(func)


def db_path(db: Path | None) -> Path:
    """The database file: `db` if given, else `census.db` in the platform's user data folder."""
    if db is not None:
        return db
    from platformdirs import user_data_path

    return user_data_path("census", appauthor=False) / "census.db"


def get_passphrase(passphrase_file: Path | None, *, new: bool = False,
                   weak: Callable[[str], str | None] | None = None) -> str:
    """The passphrase from --passphrase-file, CENSUS_PASSPHRASE, or a prompt without echo.
    With `new`, a prompt asks twice; `weak` (why a phrase may not be used, or None) makes it
    ask again at once, before the confirmation."""
    if passphrase_file is not None:
        try:
            mode = passphrase_file.stat().st_mode
        except OSError:
            mode = 0  # the open below says what is wrong
        if os.name == "posix" and mode & 0o077:
            raise UserError(_("The passphrase file {path} can be read or changed by other users of "
                              "this computer (mode {mode}); census does not use it. Make it yours "
                              "only: chmod 600 {path}").format(
                path=passphrase_file, mode=oct(mode & 0o777)[2:]))
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
        return prompt_new_passphrase(weak)
    return str(click.prompt(_("Database passphrase"), hide_input=True))


def prompt_new_passphrase(weak: Callable[[str], str | None] | None = None) -> str:
    """A new passphrase typed twice without echo; `weak` (why a phrase may not be used, or
    None) makes the prompt ask again at once, before the confirmation."""
    def checked(value: str) -> str:
        why = weak(value) if weak is not None else None
        if why is not None:
            raise click.UsageError(why)
        return value

    return str(click.prompt(_("New database passphrase"), hide_input=True,
                            confirmation_prompt=True, value_proc=checked))


@contextmanager
def open_store(db: Path | None, passphrase_file: Path | None,
               passphrase: str | None = None) -> Iterator[Store]:
    """The existing database (else a message saying how to make one), closed afterwards;
    `passphrase` when the caller has it already (it is asked once)."""
    from census.storage.store import Store

    path = db_path(db)
    if not path.exists():
        raise UserError(_("There is no census database at {path}. Create one with `census init "
                          "--db {path}`, or try the demo: `census demo`.").format(path=path))
    store = Store.open(path, passphrase if passphrase is not None
                       else get_passphrase(passphrase_file))
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


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[float, str], None] | None]:
    """A progress bar on standard error for a long command, fed (fraction done, what now);
    None when standard error is not a terminal (a script, a pipe, a test): nothing is
    drawn there, and standard output is never touched."""
    if not sys.stderr.isatty():
        yield None
        return
    steps = 1000
    with click.progressbar(length=steps, label=label, file=sys.stderr, show_eta=False,
                           show_percent=True, width=24,
                           item_show_func=lambda what: what) as bar:
        done = [0]

        def show(fraction: float, what: str) -> None:
            to = max(done[0], min(steps, int(fraction * steps)))
            bar.update(to - done[0], what)
            done[0] = to

        try:
            yield show
        except BaseException:
            # The message that follows says what happened: the bar goes, the cursor comes
            # back (click would leave the bar where it stopped).
            bar.hidden = True
            sys.stderr.write("\r\033[K\033[?25h")
            sys.stderr.flush()
            raise
        bar.update(steps - done[0], "")


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def table(headers: list[str], rows: list[list[Any]]) -> None:
    """Print rows under headers, in columns as wide as their widest cell."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def now() -> datetime:
    """The local time to the minute, as records and reports carry it."""
    return datetime.now().replace(second=0, microsecond=0)


def confirm_fingerprint(code: str, fingerprint: str) -> bool:
    """Ask, in a terminal, whether `fingerprint` is what `code` reads out; False outside a
    terminal (then the command says to use --expect-fingerprint)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    click.echo(_("The key of {code} has the fingerprint {fp}.").format(code=code,
                                                                      fp=fingerprint))
    return bool(click.confirm(_("Is it the fingerprint {code} reads to you (by phone, or in "
                                "person)?").format(code=code), default=False))


def remove_option(func: F) -> F:
    """--remove, taken by the commands that import sealed files (as the parameter `remove`)."""
    return click.option("--remove", is_flag=True,
                        help="Overwrite and remove each file once it is imported (its "
                             "contents are then in the encrypted database). A refused file "
                             "is kept.")(func)


def removed(store: Store, path: Path, quiet: bool = False) -> dict[str, Any]:
    """Overwrite and remove an imported file and say so (unless `quiet`: --json says it); a
    file that cannot be removed is a warning (the import stands). What happened."""
    from census.domain.errors import CensusError
    from census.usecases.files import remove_imported

    try:
        remove_imported(store, path)
    except CensusError as exc:
        if not quiet:
            click.echo(_("Warning: {why}").format(why=exc), err=True)
        return {"removed": False, "not_removed": str(exc)}
    if not quiet:
        click.echo(_("{path}: removed (overwritten, then deleted).").format(path=path),
                   err=True)
    return {"removed": True}
