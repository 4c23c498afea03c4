"""Benchmark: cold start of `census --help` against importing click and sqlite_utils.

Each command runs as a fresh subprocess (2 warm-ups, then --runs timed runs; the median is
reported). Baseline, same interpreter, same run: `python -c "import click, sqlite_utils"`.
Goal: median(census --help) / median(baseline) <= 1.5. Exit status is 0 either way.

It also reports which heavy modules `import census.cli` and `census --help` load (textual,
sqlcipher3, cryptography should load only inside the commands that need them), and the
slowest imports of `census --help` from `python -X importtime`.

    .venv/bin/python bench/cli_startup.py             # 15 runs
    .venv/bin/python bench/cli_startup.py --runs 5    # quick
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL = 1.5
HEAVY = ("textual", "sqlcipher3", "cryptography", "sqlite_utils", "rich")


def timed_runs(argv: list[str], runs: int, warmup: int, env: dict[str, str]) -> list[float]:
    """Wall-clock milliseconds of `runs` fresh processes after `warmup` untimed ones."""
    out = []
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False)
        elapsed = (time.perf_counter() - t0) * 1000
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n"
                             f"{proc.stderr.decode(errors='replace')}")
        if i >= warmup:
            out.append(elapsed)
    return out


def importtime(argv: list[str], env: dict[str, str]) -> list[tuple[int, int, str]]:
    """(self us, cumulative us, module) of every import the command makes (-X importtime)."""
    proc = subprocess.run(argv, env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    rows = []
    for line in proc.stderr.decode(errors="replace").splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line[len("import time:"):].split("|", 2)
        rows.append((int(self_us), int(cumulative), name.rstrip()))
    return rows


def loaded(rows: list[tuple[int, int, str]]) -> dict[str, bool]:
    names = {name.strip() for _s, _c, name in rows}
    return {heavy: any(n == heavy or n.startswith(heavy + ".") for n in names)
            for heavy in HEAVY}


def describe(label: str, flags: dict[str, bool]) -> str:
    parts = [f"{name} {'LOADED' if hit else 'no'}" for name, hit in flags.items()]
    return f"{label:<28} " + ", ".join(parts)


def summary(label: str, times: list[float]) -> str:
    return (f"{label:<40} median {statistics.median(times):7.1f} ms   min {min(times):7.1f} ms"
            f"   max {max(times):7.1f} ms   (n={len(times)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs each (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the census venv (default: this one)")
    parser.add_argument("--census", default=None,
                        help="the census console script (default: next to --python)")
    parser.add_argument("--top", type=int, default=12,
                        help="slowest imports of `census --help` shown (default 12)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be >= 1 and --warmup >= 0")
    census = args.census or str(Path(args.python).parent / "census")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["CENSUS_LANG"] = "en"

    baseline_cmd = [args.python, "-c", "import click, sqlite_utils"]
    help_cmd = [census, "--help"]
    print(f"cli_startup: {args.runs} runs after {args.warmup} warm-ups; python {args.python}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    # Interleave the two so drift on the machine affects both alike.
    base: list[float] = []
    cli: list[float] = []
    timed_runs(baseline_cmd, 0, args.warmup, env)
    timed_runs(help_cmd, 0, args.warmup, env)
    for _ in range(args.runs):
        base += timed_runs(baseline_cmd, 1, 0, env)
        cli += timed_runs(help_cmd, 1, 0, env)
    bare = timed_runs([args.python, "-c", "pass"], args.runs, args.warmup, env)

    print(summary("census --help", cli))
    print(summary('python -c "import click, sqlite_utils"', base))
    print(summary('python -c "pass" (information)', bare))
    ratio = statistics.median(cli) / statistics.median(base)
    print(f"ratio median(census --help)/median(import click, sqlite_utils) = {ratio:.2f}  "
          f"(goal <= {GOAL:g})")
    print(f"goal {'MET' if ratio <= GOAL else 'MISSED'}")

    print()
    mod_rows = importtime([args.python, "-c", "import census.cli"], env)
    help_rows = importtime(help_cmd, env)
    print(describe("import census.cli:", loaded(mod_rows)))
    print(describe("census --help:", loaded(help_rows)))
    total = sum(s for s, _c, _n in help_rows) / 1000
    print(f"\n`census --help` imports {len(help_rows)} modules, {total:.1f} ms of import time "
          f"(self times summed; -X importtime itself slows imports); slowest {args.top} by "
          f"cumulative time:")
    for self_us, cumulative, name in sorted(help_rows, key=lambda r: -r[1])[:args.top]:
        print(f"  {cumulative / 1000:8.1f} ms cumulative {self_us / 1000:7.1f} ms self  "
              f"{name.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
