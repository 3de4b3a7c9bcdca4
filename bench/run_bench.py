#!/usr/bin/env python3
"""Benchmark the worker loop (`bd run`, issue 13) at 10k issues.

    cargo build --release
    python3 bench/run_bench.py [--bd PATH] [--items 20] [--fleet-items 100]

1. One worker runs a trivial command (`true`) on `--items` items of the 10k
   tracker of bench/gen_tracker.py (`--close-on-success`): the loop's own
   overhead per item is the wall time per item less the command's own time
   (`true` spawned and reaped, measured apart). It covers the worker's
   start, pick, claim, a new worktree and branch, `bd prime`'s text, the run
   record, the close, and the heartbeats.
2. Three workers (`--agents 3`) over `--fleet-items` trivial items: items per
   minute, and the share of wall time the loop spends outside the commands.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GEN = os.path.join(HERE, "gen_tracker.py")


def parse_time(s: str) -> float:
    # RFC 3339 with nanoseconds: keep microseconds for fromisoformat.
    head, _, frac = s.rstrip("Z").partition(".")
    return datetime.datetime.fromisoformat(head + "." + (frac + "000000")[:6] + "+00:00").timestamp()


def records(ws: str) -> list[dict]:
    p = os.path.join(ws, ".beads", "runs.jsonl")
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(line) for line in f if line.strip()]


def fresh(workdir: str, name: str, base: str) -> str:
    """A copy of the generated tracker, so every measurement starts alike."""
    ws = os.path.join(workdir, name)
    shutil.copytree(base, ws, symlinks=True)
    return ws


def measure(bd: str, ws: str, env: dict, argv: list[str]) -> tuple[float, dict]:
    t = time.perf_counter()
    p = subprocess.run([bd, *argv], cwd=ws, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"bd {' '.join(argv)} failed ({p.returncode}): {p.stderr}")
    return wall, json.loads(p.stdout)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bd", default=os.path.join(REPO, "target", "release", "bd"))
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--fleet-items", type=int, default=100)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "strand-run-bench"))
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    base = os.path.join(a.workdir, "base")
    subprocess.run([sys.executable, GEN, "--issues", "10000", "--out", base], check=True,
                   stdout=subprocess.DEVNULL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BD_")}
    true = shutil.which("true") or "/bin/true"

    # 1. One worker.
    ws = fresh(a.workdir, "one", base)
    env1 = dict(env, BD_HOME=os.path.join(a.workdir, "home-one"))
    wall, rep = measure(a.bd, ws, env1, ["run", "--agent", "w", "--json", "--close-on-success",
                                         "--max-items", str(a.items), "--", true])
    runs = records(ws)
    assert len(runs) == a.items == len(rep["runs"]), (len(runs), rep)
    # The command's own time: `true` spawned and reaped, as the worker does.
    t = time.perf_counter()
    for _ in range(50):
        subprocess.run([true])
    cmd_ms = (time.perf_counter() - t) / 50 * 1000
    per_item = wall / a.items * 1000 - cmd_ms
    print(f"one worker, {a.items} items of a 10k tracker: {wall:.2f} s wall, "
          f"{wall / a.items * 1000:.0f} ms per item, of which the command {cmd_ms:.1f} ms: "
          f"loop overhead {per_item:.0f} ms per item (target <= 150 ms)")

    # 2. Three workers.
    ws = fresh(a.workdir, "fleet", base)
    env3 = dict(env, BD_HOME=os.path.join(a.workdir, "home-fleet"))
    per_worker = -(-a.fleet_items // 3)
    wall, rep = measure(a.bd, ws, env3, ["run", "--agents", "3", "--json", "--close-on-success",
                                         "--interval", "1s", "--max-items", str(per_worker),
                                         "--", true])
    runs = records(ws)
    done = len(runs)
    busy = 3 * wall
    in_cmd = done * cmd_ms / 1000
    print(f"three workers, {done} items: {wall:.2f} s wall, {done / wall * 60:.0f} items/min, "
          f"loop overhead {(busy - in_cmd) / busy * 100:.1f}% of worker time "
          f"({busy / done * 1000:.0f} ms of worker time per item)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
