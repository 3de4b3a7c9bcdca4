#!/usr/bin/env python3
"""Benchmark the tracker's git side: the merge driver and `bd commit`.

    cargo build --release
    python3 bench/git_bench.py [--sizes 10000,100000] [--runs 7] [--bd PATH]

Merge: a generated tracker is the base; "ours" and "theirs" each change a
different random set of issues (1,000 at 10k, 5,000 at 100k; titles,
priorities, labels, a few closes) and a few issues on both sides; the timed
command is the driver as git runs it: `bd merge BASE OURS THEIRS PATH`.
Commit: one issue changed in a 10k tracker, `bd commit`; also the bytes it adds
under .git/objects. Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GEN = os.path.join(HERE, "gen_tracker.py")
CHANGES = {10000: 1000, 100000: 5000}
TARGETS = {("merge", 10000): 80, ("merge", 100000): 600, ("commit", 10000): 300}


def run_timed(cmd, cwd, env):
    start = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err}")
    return elapsed, ru.ru_maxrss / 1024


def edit_side(lines, ids, rng, tag):
    out = list(lines)
    for i in ids:
        rec = json.loads(out[i])
        rec["title"] = f"{rec.get('title', '')} [{tag}]"[:500]
        rec["priority"] = rng.randint(0, 4)
        labels = sorted(set(rec.get("labels", [])) | {f"side-{tag}"})
        rec["labels"] = labels
        stamp = f"2030-01-01T00:00:{rng.randint(10, 59):02d}.000000000Z {tag}"
        rec["updated_at"] = "2030-01-01T00:00:00.000000000Z"
        rec.setdefault("_stamps", {}).update({"title": stamp, "priority": stamp, "labels": stamp})
        out[i] = json.dumps(rec, separators=(",", ":"), ensure_ascii=False)
    return out


def bench_merge(size, runs, bd, work, env):
    src = os.path.join(work, f"t{size}")
    if not os.path.exists(os.path.join(src, ".beads", "issues.jsonl")):
        subprocess.run([sys.executable, GEN, "--issues", str(size), "--out", src], check=True,
                       stdout=subprocess.DEVNULL)
    base = open(os.path.join(src, ".beads", "issues.jsonl"), encoding="utf-8").read().splitlines()
    rng = random.Random(size)
    n = CHANGES[size]
    picks = rng.sample(range(len(base)), 2 * n - n // 10)
    both = picks[: n // 10]
    ours_ids = picks[n // 10: n] + both
    theirs_ids = picks[n:] + both
    ours = edit_side(base, ours_ids, rng, "ours")
    theirs = edit_side(base, theirs_ids, rng, "theirs")
    d = os.path.join(work, f"merge{size}")
    os.makedirs(d, exist_ok=True)
    paths = {}
    for name, lines in (("base", base), ("ours", ours), ("theirs", theirs)):
        paths[name] = os.path.join(d, name)
        with open(paths[name], "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    times, rss = [], []
    for _ in range(runs + 1):
        a = os.path.join(d, "a")
        shutil.copy(paths["ours"], a)
        t, r = run_timed([bd, "merge", paths["base"], a, paths["theirs"], ".beads/issues.jsonl"], d, env)
        times.append(t)
        rss.append(r)
    times = times[1:]
    return statistics.median(times), min(times), max(times), max(rss), n


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def bench_commit(runs, bd, work, env):
    src = os.path.join(work, "t10000")
    if not os.path.exists(os.path.join(src, ".beads", "issues.jsonl")):
        subprocess.run([sys.executable, GEN, "--issues", "10000", "--out", src], check=True,
                       stdout=subprocess.DEVNULL)
    d = os.path.join(work, "commit10000")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(src, d)
    ids = [json.loads(l)["id"] for l in open(os.path.join(d, ".beads", "issues.jsonl"), encoding="utf-8")]
    times, added = [], []
    for i in range(runs + 1):
        subprocess.run([bd, "update", ids[i], "--priority", str(i % 5)], cwd=d, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = du(os.path.join(d, ".git", "objects"))
        t, _ = run_timed([bd, "commit"], d, env)
        after = du(os.path.join(d, ".git", "objects"))
        times.append(t)
        added.append(after - before)
    times, added = times[1:], added[1:]
    return statistics.median(times), min(times), max(times), statistics.median(added)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--bd", default=os.path.join(REPO, "target", "release", "bd"))
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "strand-git-bench"))
    a = ap.parse_args()
    if not os.path.exists(a.bd):
        raise SystemExit(f"{a.bd} not found: run `cargo build --release` first")
    os.makedirs(a.workdir, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BD_")}
    env["BD_ACTOR"] = "bench"
    env["BD_HOME"] = os.path.join(a.workdir, "home")
    print("| what | size | changed per side | median ms | min | max | peak RSS MB | target |")
    print("|---|---|---|---|---|---|---|---|")
    for size in [int(s) for s in a.sizes.split(",")]:
        med, lo, hi, rss, n = bench_merge(size, a.runs, a.bd, a.workdir, env)
        tgt = TARGETS.get(("merge", size))
        ok = "" if tgt is None else (f"≤ {tgt} ✓" if med <= tgt else f"≤ {tgt} ✗")
        print(f"| merge driver | {size} | {n} | {med:.1f} | {lo:.1f} | {hi:.1f} | {rss:.0f} | {ok} |")
    med, lo, hi, added = bench_commit(a.runs, a.bd, a.workdir, env)
    ok = f"≤ 300 {'✓' if med <= 300 else '✗'}"
    print(f"| bd commit (1 issue) | 10000 | 1 | {med:.1f} | {lo:.1f} | {hi:.1f} | | {ok} |")
    print(f"\nbytes added under .git/objects per one-issue commit (median): {added:,}")


if __name__ == "__main__":
    main()
