#!/usr/bin/env python3
"""Benchmark coordination at 10k issues: a claim across workspaces, `bd prime`,
`bd dispatch` of 100 items to 10 agents, and 16 processes claiming for 10 s.

    cargo build --release
    python3 bench/coord_bench.py [--bd PATH] [--seconds 10]

Uses the 10k tracker of bench/gen_tracker.py as clone A, a `git worktree` of
it as workspace B, one BD_HOME. Python 3.11 standard library only.
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
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GEN = os.path.join(HERE, "gen_tracker.py")


def bd(bdpath, cwd, env, *args):
    t = time.perf_counter()
    p = subprocess.run([bdpath, *args], cwd=cwd, env=env, capture_output=True, text=True)
    return (time.perf_counter() - t) * 1000, p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bd", default=os.path.join(REPO, "target", "release", "bd"))
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "strand-coord-bench"))
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    ws_a = os.path.join(a.workdir, "a")
    subprocess.run([sys.executable, GEN, "--issues", "10000", "--out", ws_a], check=True,
                   stdout=subprocess.DEVNULL)
    ws_b = os.path.join(a.workdir, "b")
    subprocess.run(["git", "worktree", "add", "-q", "-b", "b", ws_b], cwd=ws_a, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BD_")}
    env["BD_HOME"] = os.path.join(a.workdir, "home")
    env["BD_LOCK_TIMEOUT_MS"] = "60000"
    rows = [json.loads(l) for l in open(os.path.join(ws_a, ".beads", "issues.jsonl"), encoding="utf-8")]
    free = [r["id"] for r in rows if r["status"] == "open" and not r.get("assignee")
            and not r.get("dependencies") and r["issue_type"] in ("task", "bug", "feature", "chore")]
    for ws in (ws_a, ws_b):
        bd(a.bd, ws, dict(env, BD_ACTOR="warmup"), "ready")
    # 1. A claim in A, then the same issue refused in B (across workspaces).
    times, refusals = [], []
    for i in range(9):
        t, p = bd(a.bd, ws_a, dict(env, BD_ACTOR=f"alice{i}"), "claim", free[i])
        assert p.returncode == 0, p.stderr
        times.append(t)
        t2, p2 = bd(a.bd, ws_b, dict(env, BD_ACTOR="bob"), "claim", free[i])
        assert p2.returncode == 3, p2.stderr
        refusals.append(t2)
    print(f"claim (10k, ledger + workspace lock): median {statistics.median(times):.1f} ms"
          f" (min {min(times):.1f}, max {max(times):.1f})")
    print(f"claim refused in another workspace: median {statistics.median(refusals):.1f} ms")
    # 2. prime.
    pt = [bd(a.bd, ws_b, dict(env, BD_ACTOR="alice0"), "prime")[0] for _ in range(9)]
    _, p = bd(a.bd, ws_b, dict(env, BD_ACTOR="alice0"), "prime")
    print(f"prime (10k): median {statistics.median(pt):.1f} ms, {len(p.stdout.encode())} bytes")
    # 3. dispatch of 100 items to 10 agents: a project home of its own, so
    # the only online agents are these ten.
    denv = dict(env, BD_HOME=os.path.join(a.workdir, "home-dispatch"))
    # No BD_ACTOR: a coordinator without one does not count as an agent.
    # A first round, before any agent is online, only recovers the generated
    # tracker's long-lapsed claims (hundreds, each a recovery comment); the
    # measured round then slings 100 items.
    bd(a.bd, ws_a, denv, "ready")
    t0, p0 = bd(a.bd, ws_a, denv, "--json", "dispatch")
    assert p0.returncode == 0, p0.stderr
    print(f"dispatch recovering {len(json.loads(p0.stdout)['recovered'])} lapsed claims: {t0:.0f} ms")
    for k in range(10):
        bd(a.bd, ws_a, denv, "agent", "register", f"agent-{k}", "--kind", "claude")
    t, p = bd(a.bd, ws_a, denv, "--json", "dispatch", "--per-agent", "10")
    assert p.returncode == 0, p.stderr
    n = len(json.loads(p.stdout)["slung"])
    print(f"dispatch (10k, 10 agents x 10): {t:.0f} ms for {n} items slung")
    # 4. 16 processes claiming continuously for N seconds (two workspaces).
    pool = free[20:]
    lock = threading.Lock()
    wins, losses, stop = {}, [0], time.time() + a.seconds

    def worker(k):
        ws = ws_a if k % 2 == 0 else ws_b
        e = dict(env, BD_ACTOR=f"storm-{k}")
        i = k
        while time.time() < stop and i < len(pool):
            _, p = bd(a.bd, ws, e, "claim", pool[i])
            with lock:
                if p.returncode == 0:
                    wins.setdefault(pool[i], []).append(k)
                else:
                    losses[0] += 1
            i += 3

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(16)]
    start = time.time()
    for t_ in threads:
        t_.start()
    for t_ in threads:
        t_.join()
    elapsed = time.time() - start
    doubles = [i for i, w in wins.items() if len(w) > 1]
    print(f"16 processes for {elapsed:.1f} s: {len(wins)} claims ({len(wins) / elapsed:.1f}/s), "
          f"{losses[0]} refused, double holders: {len(doubles)}")


if __name__ == "__main__":
    main()
