#!/usr/bin/env python3
"""Benchmark whole `bd` processes on synthetic trackers of several sizes.

    cargo build --release
    python3 bench/run.py [--sizes 1000,10000,100000] [--runs 11] [--bd PATH]
                         [--workdir /tmp/strand-bench] [--out FILE]

For every size it generates (and caches) a tracker with bench/gen_tracker.py, copies
it to a scratch directory, and times `bd` commands there as whole processes: wall time
from fork to reaping the child, and the child's peak RSS from os.wait4. See
bench/README.md for what warm, cold and stale mean. Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GEN = os.path.join(HERE, "gen_tracker.py")

# Regenerate a cached tracker after this many days: its deferred issues are deferred
# 30+ days past its generation day, so they stay deferred while it is cached.
CACHE_MAX_AGE_DAYS = 20

WORK_TYPES = {"task", "bug", "feature", "chore", "epic"}

# Targets from the scale issues: (size, command, mode) -> max median ms.
TIME_TARGETS = {
    (10000, "ready", "warm"): 10,
    (10000, "list", "warm"): 10,
    (10000, "show", "warm"): 10,
    (10000, "create", "warm"): 20,
    (10000, "update", "warm"): 20,
    (10000, "claim", "warm"): 20,
    (10000, "ready", "cold"): 80,
    (100000, "ready", "warm"): 30,
    (100000, "create", "warm"): 400,
    (100000, "ready", "cold"): 600,
}
# size -> max peak RSS in MB, for every command.
RSS_TARGETS = {100000: 250}


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# Measuring one process


def _reset_own_peak_rss() -> None:
    """On Linux a child's ru_maxrss starts at the parent's RSS high-water mark (the
    mm it forked from counts at exec). Reset ours to our current RSS before each spawn
    so that a past peak of this script never leaks into bd's numbers."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _maxrss_mb(ru) -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    if sys.platform == "darwin":
        return ru.ru_maxrss / (1024 * 1024)
    return ru.ru_maxrss / 1024


@dataclass
class Sample:
    ms: float
    rss_mb: float


class Runner:
    def __init__(self, bd: str, cwd: str, env: dict):
        self.bd = bd
        self.cwd = cwd
        self.env = env
        self.errf = tempfile.TemporaryFile()

    def run(self, argv: list[str], exe: str | None = None) -> Sample:
        cmd = [exe or self.bd, *argv]
        self.errf.seek(0)
        self.errf.truncate()
        _reset_own_peak_rss()
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=self.errf)
        _, status, ru = os.wait4(p.pid, 0)
        t1 = time.perf_counter()
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            self.errf.seek(0)
            err = self.errf.read().decode("utf-8", "replace").strip()
            raise BenchError(
                f"command failed with exit status {p.returncode} (cwd {self.cwd}):\n"
                f"  $ {' '.join(_shquote(a) for a in cmd)}\n"
                + ("\n".join("  | " + ln for ln in err.splitlines()) or "  (no stderr output)"))
        return Sample((t1 - t0) * 1000.0, _maxrss_mb(ru))


def _shquote(s: str) -> str:
    import shlex
    return shlex.quote(s)


# ---------------------------------------------------------------------------
# Trackers


def tracker_path(workdir: str, n: int, seed: int) -> str:
    return os.path.join(workdir, f"tracker-{n}-seed{seed}")


def ensure_tracker(workdir: str, n: int, seed: int) -> str:
    """Return the cached tracker for (n, seed), generating it if missing or old."""
    path = tracker_path(workdir, n, seed)
    meta_path = path + ".json"
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        fresh = (time.time() - meta["generated_at"]) < CACHE_MAX_AGE_DAYS * 86400
        if fresh and os.path.isfile(os.path.join(path, ".beads", "issues.jsonl")) \
                and os.path.isdir(os.path.join(path, ".git")):
            return path
    except (OSError, ValueError, KeyError):
        pass
    for p in (path, path + ".tmp"):
        if os.path.exists(p):
            shutil.rmtree(p)
    if os.path.exists(meta_path):
        os.remove(meta_path)
    os.makedirs(workdir, exist_ok=True)
    log(f"generating {n:,}-issue tracker in {path} ...")
    # A separate process, so this script's own memory stays small (see
    # _reset_own_peak_rss).
    r = subprocess.run([sys.executable, GEN, "--issues", str(n), "--out", path + ".tmp",
                        "--seed", str(seed)], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise BenchError(f"gen_tracker.py failed for {n} issues (exit {r.returncode})")
    log("  " + r.stdout.strip())
    os.rename(path + ".tmp", path)
    with open(meta_path, "w") as f:
        json.dump({"issues": n, "seed": seed, "generated_at": time.time()}, f)
    return path


@dataclass
class Picks:
    show: str
    update: str
    update_priority: int
    claim: list[str] = field(default_factory=list)
    close: list[str] = field(default_factory=list)


def pick_ids(jsonl: str, runs: int) -> Picks:
    """Choose the issues the commands act on, once, before any run.

    Candidates are open work items with no assignee, no dependencies, no defer_until
    and no children, so every claim and close is a real, permitted change."""
    parents = set()
    cands = []  # (id, priority)
    with open(jsonl, "rb") as f:
        for line in f:
            if line.startswith(b'{"id":"'):
                end = line.index(b'"', 7)
                iid = line[7:end].decode()
                if "." in iid:
                    parents.add(iid.rsplit(".", 1)[0])
            if b'"status":"open"' not in line:
                continue
            r = json.loads(line)
            if (r.get("status") == "open" and not r.get("assignee")
                    and not r.get("dependencies") and not r.get("defer_until")
                    and r.get("issue_type") in WORK_TYPES):
                cands.append((r["id"], r.get("priority", 2)))
    cands = [c for c in cands if c[0] not in parents]
    cands.sort()
    per_write = 2 * runs + 1  # warm: 1 warm-up + runs; cold: runs
    need = 2 + 2 * per_write
    if len(cands) < need:
        raise BenchError(
            f"{jsonl}: need {need} distinct open, unassigned issues without dependencies "
            f"for --runs {runs}, found {len(cands)}; use fewer --runs or a larger size")
    # update: an issue whose priority is neither 1 nor 3, so 1/3/1/3... always changes it.
    upd = next((c for c in cands if c[1] not in (1, 3)), None)
    if upd is None:
        raise BenchError(f"{jsonl}: no open candidate with priority other than 1 or 3")
    rest = [c[0] for c in cands if c is not upd]
    return Picks(show=rest[0], update=upd[0], update_priority=upd[1],
                 claim=rest[1:1 + per_write], close=rest[1 + per_write:1 + 2 * per_write])


# ---------------------------------------------------------------------------
# Benchmarks


@dataclass
class Row:
    command: str
    mode: str
    samples: list[Sample]

    @property
    def median(self) -> float:
        return statistics.median(s.ms for s in self.samples)

    @property
    def min(self) -> float:
        return min(s.ms for s in self.samples)

    @property
    def max(self) -> float:
        return max(s.ms for s in self.samples)

    @property
    def rss(self) -> float:
        return max(s.rss_mb for s in self.samples)


def drop_cache(tracker: str) -> None:
    shutil.rmtree(os.path.join(tracker, ".beads", ".cache"), ignore_errors=True)


class Touch:
    """Give issues.jsonl a new, strictly increasing mtime (content unchanged)."""

    def __init__(self, tracker: str):
        self.path = os.path.join(tracker, ".beads", "issues.jsonl")
        self.last = 0

    def __call__(self) -> None:
        t = max(time.time_ns(), self.last + 1_000_000)
        self.last = t
        os.utime(self.path, ns=(t, t))


def bench_size(n: int, tracker_src: str, args, bd: str, baseline: Sample) -> tuple[list[Row], str]:
    scratch = os.path.join(args.workdir, f"scratch-{n}")
    home = scratch + "-home"
    for p in (scratch, home):
        if os.path.exists(p):
            shutil.rmtree(p)
    # Writes change the tracker, reads may build .beads/.cache: always work on a copy
    # so re-runs start from the generated state.
    shutil.copytree(tracker_src, scratch, symlinks=True)
    # A copied work tree has new inodes and ctimes: refresh git's index so the copy
    # looks like a normal checkout to anything in bd that asks git about it.
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=scratch,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.makedirs(home)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BD_") and k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}
    env["BD_ACTOR"] = "bench"
    env["BD_HOME"] = home  # fresh project home: no claims or ledger from earlier runs
    runner = Runner(bd, scratch, env)
    picks = pick_ids(os.path.join(scratch, ".beads", "issues.jsonl"), args.runs)
    # Our own RSS may have grown a little while reading the file: measure the floor
    # for this size's table again.
    true_exe = shutil.which("true") or "/bin/true"
    floor = max(runner.run([], exe=true_exe).rss_mb for _ in range(5))
    baseline = Sample(baseline.ms, max(baseline.rss_mb, floor))
    runs = args.runs
    rows: list[Row] = []
    touch = Touch(scratch)

    def measure(command: str, mode: str, argv_fn, before=None, warmup=True):
        if warmup:
            runner.run(argv_fn())
        samples = []
        for _ in range(runs):
            if before:
                before()
            samples.append(runner.run(argv_fn()))
        row = Row(command, mode, samples)
        rows.append(row)
        log(f"  [{n:,}] {command:<6} {mode:<5} median {row.median:8.2f} ms  "
            f"min {row.min:8.2f}  max {row.max:8.2f}  rss {row.rss:7.1f} MB")
        return row

    reads = [
        ("ready", lambda: ["ready"]),
        ("list", lambda: ["list"]),
        ("show", lambda: ["show", picks.show]),
    ]
    for name, fn in reads:
        measure(name, "warm", fn)
    for name, fn in reads:
        measure(name, "cold", fn, before=lambda: drop_cache(scratch), warmup=False)
    for name, fn in reads:
        measure(name, "stale", fn, before=touch)  # warm-up builds the index first

    counter = iter(range(1, 1_000_000))
    prio = {"next": 1 if picks.update_priority != 1 else 3}

    def create_argv():
        return ["create", f"Bench issue {next(counter)}", "-p", "2", "-t", "task",
                "-d", "some text"]

    def update_argv():
        p = prio["next"]
        prio["next"] = 3 if p == 1 else 1
        return ["update", picks.update, "--priority", str(p)]

    claim_ids = iter(picks.claim)
    close_ids = iter(picks.close)
    writes = [
        ("create", create_argv),
        ("update", update_argv),
        ("claim", lambda: ["claim", next(claim_ids)]),
        ("close", lambda: ["close", next(close_ids)]),
    ]
    for name, fn in writes:
        measure(name, "warm", fn)
    for name, fn in writes:
        measure(name, "cold", fn, before=lambda: drop_cache(scratch), warmup=False)

    size = os.path.getsize(os.path.join(tracker_src, ".beads", "issues.jsonl"))
    table = render_table(n, size, rows, baseline)
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    return rows, table


# ---------------------------------------------------------------------------
# Output


def fmt_ms(x: float) -> str:
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def render_table(n: int, size: int, rows: list[Row], baseline: Sample) -> str:
    floor = baseline.rss_mb
    out = [f"### {n:,} issues ({size / 1048576:.1f} MiB issues.jsonl; "
           f"RSS floor {floor:.1f} MB)", "",
           "| command | mode | median ms | min | max | peak RSS MB | target |",
           "|---|---|--:|--:|--:|--:|---|"]
    for r in rows:
        targets = []
        t = TIME_TARGETS.get((n, r.command, r.mode))
        if t is not None:
            targets.append(f"≤{t} ms {'✓' if r.median <= t else '✗ MISS'}")
        rt = RSS_TARGETS.get(n)
        if rt is not None:
            targets.append(f"RSS ≤{rt} MB {'✓' if r.rss <= rt else '✗ MISS'}")
        rss = f"{r.rss:.1f}"
        if r.rss <= floor + 0.5:
            rss = f"≤{floor:.1f}"
        out.append(f"| {r.command} | {r.mode} | {fmt_ms(r.median)} | {fmt_ms(r.min)} | "
                   f"{fmt_ms(r.max)} | {rss} | {'; '.join(targets)} |")
    return "\n".join(out) + "\n"


def machine_info() -> list[str]:
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if model is None and sys.platform == "darwin":
        try:
            model = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                   capture_output=True, text=True).stdout.strip() or None
        except OSError:
            pass
    nproc = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = nproc
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) / 1048576
                    break
    except OSError:
        pass
    parts = [f"nproc {usable}" + (f" (of {nproc})" if usable != nproc else ""),
             model or platform.processor() or platform.machine()]
    if mem:
        parts.append(f"{mem:.1f} GiB RAM")
    parts.append(f"{platform.system()} {platform.release()}")
    return parts


def bd_version(bd: str, cwd: str, env: dict) -> str:
    r = subprocess.run([bd, "version"], cwd=cwd, env=env, capture_output=True, text=True)
    text = (r.stdout.strip() or r.stderr.strip()).splitlines()
    first = text[0] if text else "(no output)"
    if r.returncode != 0:
        first += f" (exit {r.returncode})"
    return first


def source_rev() -> str:
    try:
        r = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                           capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""
    except OSError:
        return ""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def default_bd() -> str:
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    if not os.path.isabs(target):
        target = os.path.join(REPO, target)
    return os.path.join(target, "release", "bd")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000",
                    help="comma-separated issue counts (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=11, help="timed runs per row (default: 11)")
    ap.add_argument("--bd", default=None, help="bd binary (default: target/release/bd)")
    ap.add_argument("--workdir", default="/tmp/strand-bench",
                    help="cache for generated trackers and scratch copies (default: %(default)s)")
    ap.add_argument("--out", default=None, help="also write the markdown report here")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default: 1)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the scratch trackers (workdir/scratch-N) for inspection")
    args = ap.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--sizes: expected comma-separated integers, got {args.sizes!r}")
    if not sizes or min(sizes) < 100:
        ap.error("--sizes: each size must be at least 100")
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    args.workdir = os.path.abspath(args.workdir)

    bd = os.path.abspath(args.bd) if args.bd else default_bd()
    if not (os.path.isfile(bd) and os.access(bd, os.X_OK)):
        if args.bd:
            print(f"run.py: bd binary not found or not executable: {bd}", file=sys.stderr)
        else:
            print(f"run.py: bd binary not found at {bd}\n"
                  f"  build it first:  cargo build --release   (or pass --bd PATH)",
                  file=sys.stderr)
        return 2

    try:
        trackers = {n: ensure_tracker(args.workdir, n, args.seed) for n in sizes}
        env = {k: v for k, v in os.environ.items() if not k.startswith("BD_")}
        env["BD_ACTOR"] = "bench"
        with tempfile.TemporaryDirectory() as home:
            env["BD_HOME"] = home
            version = bd_version(bd, trackers[sizes[0]], env)

        # Spawn cost and RSS floor of this harness: /bin/true measured the same way.
        true_exe = shutil.which("true") or "/bin/true"
        probe = Runner(bd, args.workdir, dict(os.environ))
        probe.run([], exe=true_exe)
        base = [probe.run([], exe=true_exe) for _ in range(max(args.runs, 51))]
        baseline = Sample(statistics.median(s.ms for s in base), max(s.rss_mb for s in base))

        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        rev = source_rev()
        header = [
            f"## strand bench, {now}",
            "",
            f"- machine: {', '.join(machine_info())}",
            f"- bd: {version} ({bd}{', source ' + rev if rev else ''})",
            f"- {args.runs} timed runs per row; wall time of the whole `bd` process "
            f"(spawn to reap), peak RSS = max ru_maxrss over the runs",
            f"- harness baseline (`{true_exe}` measured the same way): "
            f"{fmt_ms(baseline.ms)} ms, RSS floor {baseline.rss_mb:.1f} MB "
            f"(a child's ru_maxrss never reads below the spawning process's RSS; "
            f"`≤{baseline.rss_mb:.1f}` means at most that)",
            "- modes: warm = index present and fresh; cold = `.beads/.cache` deleted "
            "before each run; stale = issues.jsonl mtime bumped before each run",
            "",
        ]
        header_text = "\n".join(header)
        print(header_text, flush=True)
        report = [header_text]
        missed = 0
        met = 0
        for n in sizes:
            rows, table = bench_size(n, trackers[n], args, bd, baseline)
            print(table, flush=True)
            report.append(table)
            for line in table.splitlines():
                met += line.count("✓")
                missed += line.count("✗")
        summary = f"Targets: {met} met, {missed} missed."
        print(summary)
        report.append(summary + "\n")
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write("\n".join(report))
            log(f"wrote {args.out}")
    except BenchError as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("run.py: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
