"""Benchmark: cold start of `census tui` to its first interactive screen, against a minimal app.

Measured: the time from spawning a fresh Python process until the first interactive screen has
been painted. For census that is `census tui --db DB` with CENSUS_PASSPHRASE set, whose first
screen is Home with the enumerator's areas (a demo database made once for the run). The baseline,
measured the same way in the same run with the same interpreter and Textual, is a minimal
Textual app (one Label). Runs of the two are interleaved so that drift on the machine affects
both alike; after --warmup untimed runs of each, --runs timed runs each, medians compared.

How "ready" is detected (identically for both apps). Each process runs a small driver script
(written to a temporary folder) that wraps `textual.app.App.run` before the app starts, adding
an auto-pilot: once the app's first screen exists, the pilot waits until that screen and all
its widgets have processed every pending message (screens pushed in on_mount included: it
waits again if the current screen changed), then waits for the screen's next refresh
(`wait_for_refresh`: the callback runs after the compositor has drawn the frame), takes
`time.monotonic()` and exits the app. `time.monotonic()` is CLOCK_MONOTONIC on Linux, shared by
all processes, so the child's ready time minus the parent's spawn time is the start-up time,
interpreter start-up included. For census the driver runs the real command, `census.cli.main()`
with argv `census tui --db DB` (what the console script does). Pilot.pause() is not used: it
sleeps at least 20 ms waiting for the CPU to go idle, which would pad both sides alike.

By default each process gets a real pseudo-terminal (pty, --width x --height), so Textual's
Linux driver writes every frame as it would to a terminal (the parent drains the output).
--headless uses Textual's headless driver instead (no terminal output is produced at all).

Also printed, per app: the median time to the driver's first line (interpreter start), to
`App.run` (imports, click, settings) and the total until the process exited; for census, the
time spent in `CensusApp.unlock`, `Store.open` (SQLCipher key derivation and schema check) and
`CensusApp.resume` (the driver wraps them), which run in on_mount before the first screen.
--profile N runs census once more under cProfile (from the driver's first line to ready).

Goal: median(census ready) / median(minimal ready) <= 1.5. Exit status is 0 either way.

    .venv/bin/python bench/tui_startup.py                  # 7 runs each, pty
    .venv/bin/python bench/tui_startup.py --runs 3         # quick
    .venv/bin/python bench/tui_startup.py --headless       # Textual's headless driver
    .venv/bin/python bench/tui_startup.py --profile 25     # and where census's time goes
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pstats
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

GOAL = 1.5
PASSPHRASE = "bench-passphrase"

DRIVER = r'''
import time
T_MAIN = time.monotonic()
import json
import os
import sys

from textual.app import App

MARKS = {"main": T_MAIN}
INFO = {}
PROFILE = os.environ.get("BENCH_PROFILE")
if PROFILE:
    import cProfile

    PROFILER = cProfile.Profile()
    PROFILER.enable()
HEADLESS = os.environ.get("BENCH_HEADLESS") == "1"
WIDTH, HEIGHT = (int(v) for v in os.environ["BENCH_SIZE"].split("x"))


async def _ready(pilot):
    app = pilot.app
    while True:
        screen = app.screen
        await pilot._wait_for_screen()
        if app.screen is screen:
            break
    await screen.wait_for_refresh()
    MARKS["ready"] = time.monotonic()
    if PROFILE:
        PROFILER.disable()
        PROFILER.dump_stats(PROFILE)
    from textual.widgets import DataTable

    INFO["screen"] = type(screen).__name__
    INFO["size"] = list(app.size)
    INFO["table_rows"] = {t.id or "?": t.row_count for t in screen.query(DataTable)}
    app.exit()


_original_run = App.run


def _run(self, **kwargs):
    MARKS["run"] = time.monotonic()
    kwargs["auto_pilot"] = _ready
    if HEADLESS:
        kwargs["headless"] = True
        kwargs["size"] = (WIDTH, HEIGHT)
    try:
        return _original_run(self, **kwargs)
    finally:
        MARKS["exited_app"] = time.monotonic()
        with open(os.environ["BENCH_RESULT"], "w", encoding="utf-8") as fh:
            json.dump({"marks": MARKS, "info": INFO}, fh)


App.run = _run

if sys.argv[1] == "minimal":
    from textual.widgets import Label

    class Minimal(App[None]):
        def compose(self):
            yield Label("Hello from a minimal Textual app")

    Minimal().run()
else:
    # Time two steps of census's unlock (both run before the first screen, in on_mount).
    from census.storage.store import Store
    from census.tui.app import CensusApp

    def _timed(owner, name, key, wrap_classmethod=False):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                INFO[key] = INFO.get(key, 0.0) + (time.perf_counter() - t0) * 1000

        setattr(owner, name, staticmethod(timed) if wrap_classmethod else timed)

    _timed(Store, "open", "store_open_ms", wrap_classmethod=True)
    _timed(CensusApp, "install", "unlock_ms")  # the store comes from a thread started earlier
    _timed(CensusApp, "resume", "resume_ms")
    sys.argv = sys.argv[1:]
    from census.cli import main

    main()
'''


def run_once(argv: list[str], env: dict[str, str], result: Path, headless: bool,
             size: tuple[int, int]) -> dict[str, Any]:
    """Spawn one process; return its marks in ms after spawn, plus what it saw."""
    result.unlink(missing_ok=True)
    env = {**env, "BENCH_RESULT": str(result), "BENCH_SIZE": f"{size[0]}x{size[1]}",
           "BENCH_HEADLESS": "1" if headless else "0"}
    output = b""
    if headless:
        t0 = time.monotonic()
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, check=False)
        t_end = time.monotonic()
        output = proc.stdout
        code = proc.returncode
    else:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        t0 = time.monotonic()
        child = subprocess.Popen(argv, env=env, stdin=slave, stdout=slave, stderr=slave,
                                 start_new_session=True)
        os.close(slave)
        chunks = []
        while True:  # drain the terminal until the child closes it (EIO on Linux)
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        code = child.wait()
        t_end = time.monotonic()
        os.close(master)
        output = b"".join(chunks)
    if code != 0 or not result.exists():
        tail = output[-2000:].decode(errors="replace")
        raise SystemExit(f"{' '.join(argv)} failed (status {code}):\n{tail}")
    data = json.loads(result.read_text(encoding="utf-8"))
    marks = {k: (v - t0) * 1000 for k, v in data["marks"].items()}
    marks["process_exit"] = (t_end - t0) * 1000
    return {"marks": marks, "info": data["info"], "terminal_bytes": len(output)}


def med(runs: list[dict[str, Any]], mark: str) -> float:
    return statistics.median(r["marks"][mark] for r in runs)


def summary(label: str, runs: list[dict[str, Any]]) -> str:
    ready = [r["marks"]["ready"] for r in runs]
    return (f"{label:<34} ready median {statistics.median(ready):7.1f} ms  min {min(ready):7.1f}"
            f"  max {max(ready):7.1f}  (n={len(ready)})\n"
            f"{'':<34} phases (medians): interpreter up {med(runs, 'main'):6.1f} ms, App.run "
            f"{med(runs, 'run'):6.1f} ms, ready {med(runs, 'ready'):6.1f} ms, process exited "
            f"{med(runs, 'process_exit'):6.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each (default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument("--households", type=int, default=400,
                        help="households in the demo database (default 400, the demo's own)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the census venv (default: this one)")
    parser.add_argument("--width", type=int, default=120, help="terminal columns (default 120)")
    parser.add_argument("--height", type=int, default=40, help="terminal lines (default 40)")
    parser.add_argument("--headless", action="store_true",
                        help="use Textual's headless driver instead of a pseudo-terminal")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also cProfile one census start-up and print the top N functions")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0 or args.households < 1:
        parser.error("--runs and --households must be >= 1, --warmup >= 0")
    size = (args.width, args.height)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "TEXTUAL", "CENSUS_"))}
    env.update({"CENSUS_LANG": "en", "TERM": "xterm-256color", "COLORTERM": "truecolor"})

    with tempfile.TemporaryDirectory(prefix="census-bench-") as tmp:
        folder = Path(tmp)
        driver = folder / "driver.py"
        driver.write_text(DRIVER, encoding="utf-8")
        db = folder / "demo.db"
        census_bin = str(Path(args.python).parent / "census")
        made = subprocess.run([census_bin, "demo", "--db", str(db), "--households",
                               str(args.households)],
                              env={**env, "CENSUS_PASSPHRASE": PASSPHRASE}, capture_output=True,
                              text=True, check=False)
        if made.returncode != 0:
            raise SystemExit(f"census demo failed:\n{made.stdout}{made.stderr}")
        print(f"tui_startup: {args.runs} runs each after {args.warmup} warm-up(s); "
              f"{'headless driver' if args.headless else 'pty'} {size[0]}x{size[1]}; "
              f"python {args.python}")
        print(made.stdout.strip())
        # In the user's real config folder there may be a settings.toml; use an empty one.
        env["XDG_CONFIG_HOME"] = str(folder / "config")
        census_env = {**env, "CENSUS_PASSPHRASE": PASSPHRASE}
        census_argv = [args.python, str(driver), "census", "tui", "--db", str(db)]
        minimal_argv = [args.python, str(driver), "minimal"]
        result = folder / "result.json"

        census_runs: list[dict[str, Any]] = []
        minimal_runs: list[dict[str, Any]] = []
        for i in range(args.warmup + args.runs):
            c = run_once(census_argv, census_env, result, args.headless, size)
            m = run_once(minimal_argv, env, result, args.headless, size)
            if i >= args.warmup:
                census_runs.append(c)
                minimal_runs.append(m)

        seen = census_runs[-1]["info"]
        if seen["screen"] != "HomeScreen" or not seen["table_rows"].get("areas"):
            print(f"WARNING: census's first screen was not Home with areas: {seen}")
        print(f"census first screen: {seen['screen']} {seen['size'][0]}x{seen['size'][1]}, "
              f"table rows {seen['table_rows']}; terminal output "
              f"{census_runs[-1]['terminal_bytes']} bytes")
        print(f"minimal first screen: {minimal_runs[-1]['info']['screen']}; terminal output "
              f"{minimal_runs[-1]['terminal_bytes']} bytes")
        print()
        print(summary("census tui --db DB (Home)", census_runs))
        print(summary("minimal Textual app (one Label)", minimal_runs))
        ratio = med(census_runs, "ready") / med(minimal_runs, "ready")
        print(f"ratio median(census ready)/median(minimal ready) = {ratio:.2f}  (goal <= {GOAL:g})")
        print(f"goal {'MET' if ratio <= GOAL else 'MISSED'}")
        print()
        extra = med(census_runs, "ready") - med(minimal_runs, "ready")
        before_run = med(census_runs, "run") - med(minimal_runs, "run")
        print(f"census - minimal: {extra:.1f} ms to ready, of which {before_run:.1f} ms before "
              f"App.run (imports of census, click, sqlcipher3, settings) and "
              f"{extra - before_run:.1f} ms inside the app (unlock, Home queries, CSS, widgets)")
        info = [r["info"] for r in census_runs]
        unlock, opened, resumed = (statistics.median(i.get(k, 0.0) for i in info)
                                   for k in ("unlock_ms", "store_open_ms", "resume_ms"))
        print(f"inside census's on_mount (medians): install {unlock:.1f} ms (resume "
              f"{resumed:.1f} ms: imports census.tui.screens.home, pushes Home); Store.open "
              f"{opened:.1f} ms ran in a thread started before Textual was imported (SQLCipher "
              f"key derivation overlaps the imports)")
        if args.profile:
            stats_file = folder / "census.prof"
            run_once(census_argv, {**census_env, "BENCH_PROFILE": str(stats_file)}, result,
                     args.headless, size)
            print()
            print("cProfile of one census start-up (driver's first line to ready; the profiler "
                  "slows it).")
            print(f"census's own functions, top {args.profile} by cumulative time:")
            stats = pstats.Stats(str(stats_file), stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(r"/census/(?!.*driver\.py)",
                                                       args.profile)
            print(f"all functions, top {args.profile} by own time:")
            stats.sort_stats("tottime").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
