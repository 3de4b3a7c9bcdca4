#!/usr/bin/env python3
"""Benchmark formulas and gates (issue 16) at 10k issues.

    cargo build --release
    python3 bench/workflow_bench.py [--bd PATH] [--runs 15]

1. Pouring a 50-step formula (a chain with fan-outs, a variable in every
   title, two gates) into the 10k tracker of bench/gen_tracker.py, against
   one plain write there (`bd create`), both on copies of the same tracker
   with a warm index: target pour <= one write + 20 ms.
2. `bd gate check` with nothing due: no gates at all, and 20 open gates of
   which none is due (timers an hour away, human gates): target <= 10 ms.

Medians of `--runs` whole processes. Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GEN = os.path.join(HERE, "gen_tracker.py")


def formula(steps: int) -> str:
    out = ['formula = "bench-flow"', 'description = "A 50-step flow for {{name}}"', "version = 1", "",
           "[vars.name]", 'description = "what"', "required = true", ""]
    for i in range(1, steps + 1):
        out.append("[[steps]]")
        out.append(f'id = "s{i}"')
        out.append(f'title = "Step {i} of {{{{name}}}}"')
        out.append(f'description = "Do part {i} of {{{{name}}}}."')
        if i > 1:
            # A chain, with every fifth step also waiting on the one five back.
            needs = [f"s{i - 1}"] + ([f"s{i - 5}"] if i > 5 and i % 5 == 0 else [])
            out.append("needs = [" + ", ".join(f'"{n}"' for n in needs) + "]")
        if i in (20, 40):
            out.append("[steps.gate]")
            out.append('type = "human"')
        out.append("")
    return "\n".join(out)


def run(bd: str, ws: str, env: dict, argv: list[str]) -> float:
    t = time.perf_counter()
    p = subprocess.run([bd, *argv], cwd=ws, env=env, capture_output=True, text=True)
    ms = (time.perf_counter() - t) * 1000
    if p.returncode != 0:
        sys.exit(f"bd {' '.join(argv)} failed: {p.stderr.strip()}")
    return ms


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bd", default=os.path.join(REPO, "target", "release", "bd"))
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "strand-workflow-bench"))
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    base = os.path.join(a.workdir, "base")
    subprocess.run([sys.executable, GEN, "--issues", "10000", "--out", base], check=True,
                   stdout=subprocess.DEVNULL)
    os.makedirs(os.path.join(base, ".beads", "formulas"), exist_ok=True)
    with open(os.path.join(base, ".beads", "formulas", "bench-flow.formula.toml"), "w") as f:
        f.write(formula(50))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BD_")}
    env["BD_HOME"] = os.path.join(a.workdir, "home")
    env["BD_ACTOR"] = "bench"
    ws = os.path.join(a.workdir, "ws")
    shutil.copytree(base, ws, symlinks=True)
    run(a.bd, ws, env, ["ready"])  # the index, built once
    run(a.bd, ws, env, ["formula", "check", "bench-flow"])

    writes, pours = [], []
    for i in range(a.runs):
        writes.append(run(a.bd, ws, env, ["create", f"plain write {i}", "-q"]))
        pours.append(run(a.bd, ws, env, ["mol", "pour", "bench-flow", "--var", f"name=thing {i}", "-q"]))
    w, p = statistics.median(writes), statistics.median(pours)
    with open(os.path.join(ws, ".beads", "issues.jsonl")) as f:
        lines = sum(1 for _ in f)
    print(f"10k tracker ({lines} issues at the end): one write (create) median {w:.1f} ms; "
          f"pour of a 50-step formula (53 issues) median {p:.1f} ms = write + {p - w:.1f} ms "
          f"(target <= write + 20 ms)")

    # 2. gate check, nothing due.
    ws2 = os.path.join(a.workdir, "ws2")
    shutil.copytree(base, ws2, symlinks=True)
    run(a.bd, ws2, env, ["ready"])
    none = statistics.median(run(a.bd, ws2, env, ["gate", "check", "-q"]) for _ in range(a.runs))
    out = subprocess.run([a.bd, "list", "--json", "-n", "20", "--status", "open"], cwd=ws2, env=env,
                         capture_output=True, text=True, check=True)
    ids = [i["id"] for i in json.loads(out.stdout)][:20]
    for k, i in enumerate(ids):
        kind = ["--type", "timer", "--timeout", "1h"] if k % 2 else ["--type", "human"]
        run(a.bd, ws2, env, ["gate", "create", "--blocks", i, *kind, "-q"])
    some = statistics.median(run(a.bd, ws2, env, ["gate", "check", "-q"]) for _ in range(a.runs))
    print(f"gate check, nothing due: no gates {none:.1f} ms, 20 open gates none due {some:.1f} ms "
          f"(target <= 10 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
