#!/usr/bin/env python3
"""Issue 15 ("Speed at scale"): strand's `bd` at 10k, 100k and 1M issues, with floors,
and side by side with classic beads' Rust port `br` when one is given.

    cargo build --release --locked
    python3 bench/scale_bench.py [--sizes 10000,100000] [--runs 11] [--bd PATH]
                                 [--br PATH] [--workdir /tmp/strand-bench] [--out FILE]
    python3 bench/scale_bench.py --sizes 1000000 --runs 3      # the 1M rows

Whole processes, timed as bench/run.py times them (spawn to reap, peak RSS from
os.wait4); the trackers are run.py's cached ones (bench/gen_tracker.py). See
bench/README.md, "Scale and br (scale_bench.py)", for every row. Python 3.11
standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as R  # noqa: E402  (bench/run.py: Runner, trackers, report helpers)

BenchError = R.BenchError
Sample = R.Sample
log = R.log
fmt = R.fmt_ms

BIG = 1_000_000            # sizes from here on get only the 1M rows
SEARCH_TERM = "index"      # hits about a quarter of the open issues of gen_tracker's text
FILTER = ["--type", "bug", "--priority", "0"]   # a small share (~0.3%) of the open issues

# Issue 15's targets (medians; RSS is the max over the runs).
WRITE_FLOOR_SLACK = {10000: 5.0, 100000: 20.0}          # ms over the copy+fsync floor
WRITE_RSS = {100000: 40.0}                               # warm writes
COLD_WRITE = {100000: (800.0, 250.0)}                    # ms, MB
STREAM_READS = {"list all open", "search", "export", "ready -n 0"}
STREAM_TARGET = {100000: (250.0, 60.0)}
READY_COLD = {100000: 600.0}
BIG_WARM = 50.0                                          # ready/show warm at 1M
COMMIT_TARGET_MS = 40.0                                  # bd commit at 10k
SYNC_TARGET_MS = 400.0                                   # round trip total


# ---------------------------------------------------------------------------
# Rows


@dataclass
class Stat:
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
    def rss(self) -> float | None:
        vals = [s.rss_mb for s in self.samples if s.rss_mb is not None]
        return max(vals) if vals else None


@dataclass
class Line:
    name: str
    mode: str
    bd: Stat | None = None
    br: Stat | None = None          # br default (auto-flush)
    br_nf: Stat | None = None       # br --no-auto-flush
    br_note: str = ""               # why br has no number ("—" rows)
    hits: str = ""                  # result counts, bd / br
    kind: str = "read"              # read | write | floor
    floor: Stat | None = None       # warm writes: the copy+fsync floor, one run before each


def ratio(a: Stat | None, b: Stat | None) -> str:
    if a is None or b is None or b.median <= 0:
        return "—"
    return f"{a.median / b.median:.2f}"


def cell(s: Stat | None, floor_rss: float) -> tuple[str, str]:
    if s is None:
        return "—", "—"
    rss = s.rss
    if rss is None:
        r = "—"
    elif rss <= floor_rss + 0.5:
        r = f"≤{floor_rss:.1f}"
    else:
        r = f"{rss:.1f}"
    return f"{fmt(s.median)} ({fmt(s.min)}–{fmt(s.max)})", r


# ---------------------------------------------------------------------------
# Picking ids


@dataclass
class Pool:
    ids: list[tuple[str, int]]          # (id, priority): claimable open work items
    pos: int = 0

    def take(self, k: int) -> list[tuple[str, int]]:
        if self.pos + k > len(self.ids):
            raise BenchError(f"need {self.pos + k} distinct open, unassigned issues without "
                             f"dependencies, have {len(self.ids)}: use fewer --runs")
        out = self.ids[self.pos:self.pos + k]
        self.pos += k
        return out


def read_pool(jsonl: str) -> Pool:
    """Open work items with no assignee, no dependencies, no defer_until and no
    children (as run.py picks them), in id order, with their priority."""
    parents, cands = set(), []
    with open(jsonl, "rb") as f:
        for line in f:
            if not line.startswith(b'{"id":"'):
                continue
            iid = line[7:line.index(b'"', 7)].decode()
            if "." in iid:
                parents.add(iid.rsplit(".", 1)[0])
            if b'"status":"open"' not in line:
                continue
            r = json.loads(line)
            if (r.get("status") == "open" and not r.get("assignee")
                    and not r.get("dependencies") and not r.get("defer_until")
                    and r.get("issue_type") in R.WORK_TYPES):
                cands.append((iid, int(r.get("priority", 2))))
    return Pool(sorted(c for c in cands if c[0] not in parents))


# ---------------------------------------------------------------------------
# Measuring


def base_env(home: str, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BD_") and k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}
    env["BD_ACTOR"] = "bench"
    env["BD_HOME"] = home
    if extra:
        env.update(extra)
    return env


def capture(exe: str, argv: list[str], cwd: str, env: dict) -> bytes:
    p = subprocess.run([exe, *argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise BenchError(f"command failed with exit status {p.returncode} (cwd {cwd}):\n"
                         f"  $ {' '.join(R._shquote(a) for a in [exe, *argv])}\n"
                         + "\n".join("  | " + ln for ln in
                                     p.stderr.decode("utf-8", "replace").strip().splitlines()))
    return p.stdout


COUNT_CHILD = r"""
import json, subprocess, sys
p = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
if p.returncode != 0:
    sys.stderr.buffer.write(p.stderr)
    sys.exit(p.returncode)
try:
    d = json.loads(p.stdout)
except ValueError:
    print("?"); sys.exit(0)
if isinstance(d, dict):
    d = next((d[k] for k in ("issues", "results", "items") if isinstance(d.get(k), list)), d)
print(len(d) if isinstance(d, list) else "?")
"""


def count_hits(exe: str, argv: list[str], cwd: str, env: dict) -> str:
    """How many items the command's JSON output holds: parsed in a child process, so
    that a large output never grows this harness's RSS (see run.py's RSS floor)."""
    out = capture(sys.executable, ["-c", COUNT_CHILD, exe, *argv], cwd, env)
    t = out.decode().strip()
    return f"{int(t):,}" if t.isdigit() else t


def timed(runner: R.Runner, argv_fn, runs: int, before=None, warmup=True,
          exe: str | None = None) -> Stat:
    return timed_paired(runner, argv_fn, runs, before, warmup, exe)[0]


def timed_paired(runner: R.Runner, argv_fn, runs: int, before=None, warmup=True,
                 exe: str | None = None, pair=None) -> tuple[Stat, Stat | None]:
    """Like `timed`; with `pair`, an in-process floor timed right before each run
    (the disk's speed drifts between rows a minute apart: a write is compared with
    the floor measured beside it)."""
    if warmup:
        if before:
            before()
        runner.run(argv_fn(), exe=exe)
    samples, floor = [], []
    for _ in range(runs):
        if before:
            before()
        if pair:
            t0 = time.perf_counter()
            pair()
            floor.append(Sample((time.perf_counter() - t0) * 1000.0, None))
        samples.append(runner.run(argv_fn(), exe=exe))
    return Stat(samples), (Stat(floor) if floor else None)


def timed_py(fn, runs: int) -> Stat:
    """An in-process floor: wall time of fn(), no RSS."""
    fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(Sample((time.perf_counter() - t0) * 1000.0, None))
    return Stat(out)


def read_file_once(path: str) -> None:
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass


def copy_fsync_once(path: str) -> None:
    """The floor of rewriting the tracker: a copy of it in a temp file in the same
    folder, fsync, rename over the previous copy, fsync the folder."""
    folder = os.path.dirname(path)
    tmp = os.path.join(folder, ".floor-copy.tmp")
    dst = os.path.join(folder, ".floor-copy")
    with open(path, "rb") as src, open(tmp, "wb") as out:
        while True:
            buf = src.read(1 << 20)
            if not buf:
                break
            out.write(buf)
        out.flush()
        os.fsync(out.fileno())
    os.rename(tmp, dst)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clear_floor_copies(jsonl: str) -> None:
    for p in (".floor-copy", ".floor-copy.tmp"):
        try:
            os.remove(os.path.join(os.path.dirname(jsonl), p))
        except FileNotFoundError:
            pass


def floors(runner: R.Runner, jsonl: str, runs: int) -> list[Line]:
    true_exe = shutil.which("true") or "/bin/true"
    spawn = timed(runner, lambda: [], max(runs, 21), exe=true_exe)
    rd = timed_py(lambda: read_file_once(jsonl), max(runs, 5))
    cp = timed_py(lambda: copy_fsync_once(jsonl), max(runs, 5))
    clear_floor_copies(jsonl)
    return [Line("floor: spawn `true`", "", bd=spawn, kind="floor"),
            Line("floor: read issues.jsonl once", "in-process", bd=rd, kind="floor"),
            Line("floor: copy + fsync issues.jsonl once", "in-process", bd=cp, kind="floor")]


# ---------------------------------------------------------------------------
# Scratch copies


def fresh_copy(src: str, dst: str) -> None:
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=dst,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fresh_dir(p: str) -> str:
    if os.path.exists(p):
        shutil.rmtree(p)
    os.makedirs(p)
    return p


def br_workspace_child(args, n: int, tracker: str, br: str) -> str:
    """br_workspace in a child process: the import check parses all of br's issues,
    which must not grow this harness's RSS."""
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--_br-import",
                        json.dumps([args.workdir, args.seed, n, tracker, br])],
                       stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise BenchError(f"importing the {n:,}-issue tracker into br failed (see above)")
    return p.stdout.strip().splitlines()[-1]


def br_workspace(args, n: int, tracker: str, br: str) -> str:
    """A br workspace holding the same issues: `br init --prefix bd`, the tracker's
    issues.jsonl copied into .beads/, `br sync --import-only`. Cached per tracker and
    br binary; the import is checked to hold every id."""
    st = os.stat(br)
    key = f"{n}-seed{args.seed}"
    path = os.path.join(args.workdir, f"br-tracker-{key}")
    meta_path = path + ".json"
    tmeta = R.tracker_path(args.workdir, n, args.seed) + ".json"
    try:
        with open(tmeta) as f:
            tgen = json.load(f)["generated_at"]
        with open(meta_path) as f:
            meta = json.load(f)
        if (meta.get("br") == br and meta.get("br_mtime") == st.st_mtime
                and meta.get("tracker_generated_at") == tgen
                and os.path.isdir(os.path.join(path, ".beads"))):
            return path
    except (OSError, ValueError, KeyError):
        tgen = None
    for p in (path, path + ".tmp"):
        if os.path.exists(p):
            shutil.rmtree(p)
    # br's import commits issue by issue: on a disk where fsync is slow, 10k issues
    # take minutes. Import in a RAM folder when there is one, then copy the result.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    tmp = fresh_dir(os.path.join(shm, f"strand-br-import-{os.getpid()}") if shm
                    else path + ".tmp")
    try:
        home = fresh_dir(path + ".home")
        env = base_env(home, {"HOME": home})
        log(f"importing the {n:,}-issue tracker into br in {path} (via {tmp}) ...")
        t0 = time.perf_counter()
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp, check=True)
        capture(br, ["init", "--prefix", "bd"], tmp, env)
        renamed = br_jsonl(os.path.join(tracker, ".beads", "issues.jsonl"),
                           os.path.join(tmp, ".beads", "issues.jsonl"))
        capture(br, ["sync", "--import-only"], tmp, env)
        took = time.perf_counter() - t0
        # Every id must be there: count all issues, closed and tombstones included.
        want = set()
        with open(os.path.join(tracker, ".beads", "issues.jsonl"), "rb") as f:
            for line in f:
                want.add(line[7:line.index(b'"', 7)].decode())
        out = capture(br, ["list", "--json", "--all", "--limit", "0"], tmp, env)
        got = {r["id"] for r in json.loads(out)}
        missing = want - got
        # br's `list --all` leaves out tombstones; ask for them by status.
        if missing:
            out = capture(br, ["list", "--json", "--status", "tombstone", "--limit", "0"], tmp, env)
            got |= {r["id"] for r in json.loads(out)}
            missing = want - got
        if missing:
            raise BenchError(f"br import of {n} issues lacks {len(missing)} ids, e.g. "
                             f"{sorted(missing)[:5]} (ids renamed or issues refused)")
        log(f"  br import: {len(got):,} issues, {took:.1f} s ({renamed} duplicate "
            f"external_refs renamed)")
        shutil.rmtree(home, ignore_errors=True)
        if shm:
            shutil.copytree(tmp, path + ".tmp", symlinks=True)
            shutil.rmtree(tmp)
            tmp = path + ".tmp"
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.rename(tmp, path)
    with open(meta_path, "w") as f:
        json.dump({"br": br, "br_mtime": st.st_mtime, "tracker_generated_at": tgen,
                   "import_s": took, "issues": len(got),
                   "external_refs_renamed": renamed}, f)
    return path


def br_jsonl(src: str, dst: str) -> int:
    """The tracker's issues.jsonl for br: br refuses a second issue with the same
    external_ref (the generator draws them from a small range), so the second and
    later ones get a suffix (`gh-12` -> `gh-12-2`). Returns how many were renamed."""
    seen: dict[str, int] = {}
    renamed = 0
    with open(src, "rb") as f, open(dst, "wb") as out:
        for line in f:
            if b'"external_ref":"' in line:
                r = json.loads(line)
                e = r["external_ref"]
                if e in seen:
                    seen[e] += 1
                    r["external_ref"] = f"{e}-{seen[e]}"
                    renamed += 1
                    line = (json.dumps(r, ensure_ascii=False, separators=(",", ":"))
                            + "\n").encode("utf-8")
                else:
                    seen[e] = 1
            out.write(line)
    return renamed


# ---------------------------------------------------------------------------
# One size: reads and writes


@dataclass
class SizeResult:
    n: int
    size: int
    lines: list[Line] = field(default_factory=list)
    floor_rss: float = 0.0
    copy_floor: float = 0.0
    notes: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)   # extra markdown sections


def bench_size(n: int, tracker: str, args, bd: str, br: str | None) -> SizeResult:
    big = n >= BIG
    runs = args.runs_big if big else args.runs
    scratch = os.path.join(args.workdir, f"scale-{n}")
    home = fresh_dir(scratch + "-home")
    fresh_copy(tracker, scratch)
    jsonl = os.path.join(scratch, ".beads", "issues.jsonl")
    res = SizeResult(n, os.path.getsize(jsonl))
    env = base_env(home)
    runner = R.Runner(bd, scratch, env)
    true_exe = shutil.which("true") or "/bin/true"

    fl = floors(runner, jsonl, runs)
    res.lines += fl
    res.copy_floor = fl[2].bd.median
    log(f"  [{n:,}] floors: spawn {fmt(fl[0].bd.median)} ms, read {fmt(fl[1].bd.median)} ms, "
        f"copy+fsync {fmt(fl[2].bd.median)} ms")

    pool = read_pool(jsonl)
    show_id = pool.take(1)[0][0]
    upd_id, upd_prio = pool.take(1)[0]
    while upd_prio in (1, 3):
        upd_id, upd_prio = pool.take(1)[0]
    per = 2 * runs + 1   # warm (one warm-up + runs) and cold (runs)
    want = {"claim": per, "close": per, "comment": per, "label": per, "dep": 2 * per}

    # br: its own workspace, its own scratch copy; same ids (checked at import).
    br_runner = None
    if br and n in args.br_sizes_set:
        src = br_workspace_child(args, n, tracker, br)
        br_scratch = scratch + "-br"
        if os.path.exists(br_scratch):
            shutil.rmtree(br_scratch)
        shutil.copytree(src, br_scratch, symlinks=True)
        br_home = fresh_dir(br_scratch + "-home")
        br_runner = R.Runner(br, br_scratch, base_env(br_home, {"HOME": br_home}))

    # The harness's RSS floor, after all of its own setup (run.py's caveat).
    res.floor_rss = max(runner.run([], exe=true_exe).rss_mb for _ in range(5))

    def add(line: Line) -> Line:
        res.lines.append(line)
        parts = [f"  [{n:,}] {line.name:<22} {line.mode:<6}"]
        for tag, s in (("bd", line.bd), ("br", line.br), ("br-nf", line.br_nf)):
            if s is not None:
                parts.append(f"{tag} {fmt(s.median):>8} ms ({s.rss or 0:.0f} MB)")
        log("  ".join(parts))
        return line

    def drop():
        R.drop_cache(scratch)

    # -- reads -------------------------------------------------------------
    reads = [
        # name, bd argv, br argv (None: no equivalent), count hits
        ("ready --json", ["ready", "--json"], ["ready", "--json"], True),
        ("show --json", ["show", show_id, "--json"], ["show", show_id, "--json"], False),
        ("list filtered", ["list", "--json", "--limit", "0", *FILTER],
         ["list", "--json", "--limit", "0", *FILTER], True),
        ("list all open", ["list", "--json", "--limit", "0"], ["list", "--json", "--limit", "0"],
         True),
        ("search", ["search", SEARCH_TERM, "--json", "--limit", "0"],
         ["search", SEARCH_TERM, "--json", "--limit", "0"], True),
        ("export", ["export"], None, False),
        ("ready -n 0", ["ready", "--json", "--limit", "0"], ["ready", "--json", "--limit", "0"],
         True),
    ]
    if big:
        reads = [r for r in reads if r[0] in ("ready --json", "show --json")]
    runner.run(["ready"])  # the index, untimed
    for name, bargv, rargv, count in reads:
        line = Line(name, "warm", bd=timed(runner, lambda a=bargv: a, runs))
        hits = []
        if count:
            hits.append(count_hits(bd, bargv, scratch, env))
        if br_runner is not None:
            if rargv is None:
                line.br_note = "no such command in br 0.1.12"
            else:
                line.br = timed(br_runner, lambda a=rargv: a, runs)
                if count:
                    hits.append(count_hits(br, rargv, br_runner.cwd, br_runner.env))
        line.hits = " / ".join(hits)
        add(line)
    add(Line("ready --json", "cold", bd=timed(runner, lambda: ["ready", "--json"], runs,
                                              before=drop, warmup=False),
             br_note="br has no index to drop"))

    # -- writes ------------------------------------------------------------
    counter = iter(range(1, 10_000_000))
    prio = {"next": 1}

    def create():
        return ["create", f"Bench issue {next(counter)}", "-p", "2", "-t", "task",
                "-d", "some text"]

    def update():
        p = prio["next"]
        prio["next"] = 3 if p == 1 else 1
        return ["update", upd_id, "--priority", str(p)]

    writes = ["create", "update"] if big else ["create", "update", "claim", "close", "comment",
                                               "dep add", "label add"]
    ids = {k: [i for i, _ in pool.take(v)] for k, v in want.items()} if not big else {}
    for mode in ("warm", "cold"):
        it = {k: iter(v) for k, v in ids.items()}

        def argv_of(name):
            if name == "create":
                return create
            if name == "update":
                return update
            if name == "claim":
                return lambda: ["claim", next(it["claim"])]
            if name == "close":
                return lambda: ["close", next(it["close"])]
            if name == "comment":
                return lambda: ["comment", next(it["comment"]), f"bench comment {next(counter)}"]
            if name == "dep add":
                return lambda: ["dep", "add", next(it["dep"]), next(it["dep"])]
            return lambda: ["label", "add", next(it["label"]), f"bench-{next(counter)}"]

        for name in writes:
            pair = (lambda: copy_fsync_once(jsonl)) if mode == "warm" else None
            s, fl_s = timed_paired(runner, argv_of(name), runs,
                                   before=drop if mode == "cold" else None,
                                   warmup=(mode == "warm"), pair=pair)
            clear_floor_copies(jsonl)
            line = Line(name, mode, bd=s, kind="write", floor=fl_s)
            if mode == "cold" and br_runner is not None:
                line.br_note = "br has no index to drop"
            add(line)

    # br writes: each with its default auto-flush, then with --no-auto-flush (the
    # warm-up of the next flush row pays for the JSONL the no-flush row left stale).
    if br_runner is not None:
        bprio = {"next": 1}
        flush_runs = args.br_flush_runs or runs
        br_ids = {k: [i for i, _ in pool.take((runs + flush_runs + 2) * (2 if k == "dep" else 1))]
                  for k in ("claim", "close", "comment", "label", "dep")} if not big else {}
        bit = {k: iter(v) for k, v in br_ids.items()}

        def br_update():
            p = bprio["next"]
            bprio["next"] = 3 if p == 1 else 1
            return ["update", upd_id, "--priority", str(p)]

        def br_argv(name):
            if name == "create":
                return lambda: ["create", f"Bench issue {next(counter)}", "-p", "2", "-t",
                                "task", "-d", "some text"]
            if name == "update":
                return br_update
            if name == "claim":
                return lambda: ["update", next(bit["claim"]), "--claim"]
            if name == "close":
                return lambda: ["close", next(bit["close"])]
            if name == "comment":
                return lambda: ["comments", "add", next(bit["comment"]),
                                f"bench comment {next(counter)}"]
            if name == "dep add":
                return lambda: ["dep", "add", next(bit["dep"]), next(bit["dep"])]
            return lambda: ["label", "add", next(bit["label"]), "-l", f"bench-{next(counter)}"]

        for line in [ln for ln in res.lines if ln.kind == "write" and ln.mode == "warm"]:
            fn = br_argv(line.name)
            line.br = timed(br_runner, fn, args.br_flush_runs or runs)
            line.br_nf = timed(br_runner, lambda f=fn: ["--no-auto-flush", *f()], runs)
            log(f"  [{n:,}] br {line.name:<10} flush {fmt(line.br.median):>8} ms  "
                f"no-flush {fmt(line.br_nf.median):>8} ms")

    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        if br_runner is not None:
            shutil.rmtree(br_runner.cwd, ignore_errors=True)
            shutil.rmtree(br_runner.cwd + "-home", ignore_errors=True)
    return res


# ---------------------------------------------------------------------------
# bd commit


def git_out(cwd: str, env: dict, *a: str) -> str:
    p = subprocess.run(["git", *a], cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise BenchError(f"git {' '.join(a)} failed in {cwd} (exit {p.returncode}):\n"
                         + p.stderr.decode("utf-8", "replace").strip())
    return p.stdout.decode("utf-8", "replace")


def du_sb(path: str) -> int:
    out = subprocess.run(["du", "-sb", path], stdout=subprocess.PIPE, check=True, text=True)
    return int(out.stdout.split()[0])


def bench_commit(n: int, tracker: str, args, bd: str) -> str:
    scratch = os.path.join(args.workdir, f"scale-commit-{n}")
    home = fresh_dir(scratch + "-home")
    fresh_copy(tracker, scratch)
    hooks = [h for h in os.listdir(os.path.join(scratch, ".git", "hooks"))
             if not h.endswith(".sample")] if os.path.isdir(
        os.path.join(scratch, ".git", "hooks")) else []
    if hooks:
        raise BenchError(f"{scratch} has git hooks {hooks}: the commit row needs none")
    env = base_env(home)
    runner = R.Runner(bd, scratch, env)
    pool = read_pool(os.path.join(scratch, ".beads", "issues.jsonl"))
    picks = pool.take(args.commits)
    objects = os.path.join(scratch, ".git", "objects")
    runner.run(["ready"])  # the index, untimed
    start = du_sb(objects)
    samples, grown = [], []
    for i, (iid, p) in enumerate(picks):
        runner.run(["update", iid, "--priority", str(1 if p != 1 else 3)])
        before = du_sb(objects)
        samples.append(runner.run(["commit", "-m", f"bench commit {i + 1}"]))
        grown.append(du_sb(objects) - before)
        if (i + 1) % 25 == 0:
            log(f"  [{n:,}] bd commit {i + 1}/{len(picks)}: median "
                f"{fmt(statistics.median(s.ms for s in samples))} ms")
    end = du_sb(objects)
    count = git_out(scratch, env, "count-objects", "-v").strip()
    st = Stat(samples)
    head = git_out(scratch, env, "rev-list", "--count", "HEAD").strip()
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    ok = "✓" if st.median <= COMMIT_TARGET_MS else "✗ MISS"
    mib = 1048576
    rows = [
        f"### `bd commit` of one change, {n:,} issues", "",
        f"Each commit is preceded by one untimed `bd update <id> --priority` of a different "
        f"issue; {len(samples)} commits; the repository has no hooks and "
        f"`auto_commit = \"off\"`; {head} commits on HEAD at the end.", "",
        "| row | value | target |", "|---|--:|---|",
        f"| `bd commit` median ms (min–max) | {fmt(st.median)} ({fmt(st.min)}–{fmt(st.max)}) "
        f"| ≤{COMMIT_TARGET_MS:.0f} ms {ok} |",
        f"| `bd commit` peak RSS MB | {st.rss:.1f} | |",
        f"| bytes added under .git/objects, first commit | {grown[0]:,} | |",
        f"| bytes added per commit, median (min–max) | {int(statistics.median(grown)):,} "
        f"({min(grown):,}–{max(grown):,}) | |",
        f"| .git/objects before → after {len(samples)} commits | {start / mib:.1f} MiB → "
        f"{end / mib:.1f} MiB (+{(end - start) / mib:.1f} MiB) | |",
        "", "`git count-objects -v` after them:", "", "```", count, "```", ""]
    log(f"  [{n:,}] bd commit median {fmt(st.median)} ms, +{int(statistics.median(grown)):,} "
        f"bytes per commit, +{(end - start) / mib:.1f} MiB after {len(samples)}")
    return "\n".join(rows)


# ---------------------------------------------------------------------------
# bd sync round trip


def bench_sync(n: int, tracker: str, args, bd: str) -> str:
    sd = os.path.join(args.workdir, f"scale-sync-{n}")
    fresh_dir(sd)
    githome = fresh_dir(os.path.join(sd, "githome"))
    with open(os.path.join(githome, ".gitconfig"), "w") as f:
        f.write("[user]\n\tname = Bench\n\temail = bench@example.invalid\n"
                "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n")
    genv = {k: v for k, v in os.environ.items()
            if not k.startswith("BD_") and not k.startswith("GIT_")}
    genv["PATH"] = os.path.dirname(bd) + os.pathsep + genv.get("PATH", "")
    genv["HOME"] = githome
    genv["GIT_CONFIG_NOSYSTEM"] = "1"
    genv["GIT_TERMINAL_PROMPT"] = "0"
    remote = os.path.join(sd, "remote.git")
    git_out(sd, genv, "init", "-q", "--bare", "-b", "main", remote)
    git_out(tracker, genv, "push", "-q", remote, "main")
    clones = []
    for i in (1, 2):
        c = os.path.join(sd, f"c{i}")
        git_out(sd, genv, "clone", "-q", remote, c)
        git_out(c, genv, "config", "merge.beads.driver", "bd merge %O %A %B %P")
        home = fresh_dir(os.path.join(sd, f"home{i}"))
        env = dict(genv, BD_HOME=home, BD_ACTOR=f"agent-{i}")
        r = R.Runner(bd, c, env)
        r.run(["ready"])  # the index, as an agent working there would have it
        clones.append(r)
    pool = read_pool(os.path.join(clones[0].cwd, ".beads", "issues.jsonl"))
    k = args.sync_changes
    rounds = args.sync_rounds
    a_ids = pool.take(k * rounds)
    b_ids = pool.take(k * rounds)
    steps = {"sync clone 1": [], "sync clone 2": [], "sync clone 1 again": [], "total": []}
    for rnd in range(rounds):
        for r, ids in ((clones[0], a_ids), (clones[1], b_ids)):
            for iid, p in ids[rnd * k:(rnd + 1) * k]:
                r.run(["update", iid, "--priority", str(1 if p != 1 else 3)])
        s1 = clones[0].run(["sync"])
        s2 = clones[1].run(["sync"])
        s3 = clones[0].run(["sync"])
        steps["sync clone 1"].append(s1)
        steps["sync clone 2"].append(s2)
        steps["sync clone 1 again"].append(s3)
        steps["total"].append(Sample(s1.ms + s2.ms + s3.ms, max(s1.rss_mb, s2.rss_mb, s3.rss_mb)))
        log(f"  [{n:,}] sync round {rnd + 1}: {fmt(s1.ms)} + {fmt(s2.ms)} + {fmt(s3.ms)} = "
            f"{fmt(s1.ms + s2.ms + s3.ms)} ms")
    # Both clones and the remote must agree, and hold every change.
    h = [git_out(c.cwd, genv, "rev-parse", "HEAD:.beads/issues.jsonl").strip() for c in clones]
    h.append(git_out(remote, genv, "rev-parse", "main:.beads/issues.jsonl").strip())
    if len(set(h)) != 1:
        raise BenchError(f"after the syncs the clones and the remote differ: {h}")
    with open(os.path.join(clones[1].cwd, ".beads", "issues.jsonl"), "rb") as f:
        data = f.read()
    for iid, p in a_ids + b_ids:
        i = data.find(b'{"id":"' + iid.encode() + b'"')
        j = data.find(b"\n", i)
        if i < 0 or f'"priority":{1 if p != 1 else 3}'.encode() not in data[i:j]:
            raise BenchError(f"after the syncs clone 2 lacks the change to {iid}")
    if not args.keep:
        shutil.rmtree(sd, ignore_errors=True)
    tot = Stat(steps["total"])
    ok = "✓" if tot.median <= SYNC_TARGET_MS else "✗ MISS"
    rows = [f"### `bd sync` round trip, {n:,} issues", "",
            f"A local bare remote, two clones (each its own `BD_HOME` and actor); per round "
            f"{k} `bd update`s in each clone (untimed), then `bd sync` in clone 1, clone 2, "
            f"clone 1; {rounds} rounds. Afterwards both clones and the remote hold the same "
            f"file with every change.", "",
            "| step | median ms | min | max | peak RSS MB | target |", "|---|--:|--:|--:|--:|---|"]
    for name, ss in steps.items():
        s = Stat(ss)
        tgt = f"≤{SYNC_TARGET_MS:.0f} ms {ok}" if name == "total" else ""
        rows.append(f"| {name} | {fmt(s.median)} | {fmt(s.min)} | {fmt(s.max)} | "
                    f"{s.rss:.1f} | {tgt} |")
    return "\n".join(rows) + "\n"


# ---------------------------------------------------------------------------
# Report


def targets_for(n: int, line: Line, copy_floor: float) -> str:
    s = line.bd
    if s is None or line.kind == "floor":
        return ""
    out = []

    def chk(ok: bool, text: str):
        out.append(f"{text} {'✓' if ok else '✗ MISS'}")

    if line.kind == "write":
        if line.mode == "warm" and n in WRITE_FLOOR_SLACK:
            slack = WRITE_FLOOR_SLACK[n]
            fl = line.floor.median if line.floor is not None else copy_floor
            chk(s.median - fl <= slack, f"≤floor+{slack:.0f}")
            if n in WRITE_RSS:
                chk(s.rss <= WRITE_RSS[n], f"RSS ≤{WRITE_RSS[n]:.0f}")
        if line.mode == "cold" and n in COLD_WRITE:
            ms, mb = COLD_WRITE[n]
            chk(s.median <= ms, f"≤{ms:.0f} ms")
            chk(s.rss <= mb, f"RSS ≤{mb:.0f}")
    else:
        if line.name in STREAM_READS and n in STREAM_TARGET:
            ms, mb = STREAM_TARGET[n]
            chk(s.median <= ms, f"≤{ms:.0f} ms")
            chk(s.rss <= mb, f"RSS ≤{mb:.0f}")
        if line.name == "ready --json" and line.mode == "cold" and n in READY_COLD:
            chk(s.median <= READY_COLD[n], f"≤{READY_COLD[n]:.0f} ms")
        if n >= BIG and line.mode == "warm" and line.name in ("ready --json", "show --json"):
            chk(s.median <= BIG_WARM, f"≤{BIG_WARM:.0f} ms")
    return "; ".join(out)


def render(res: SizeResult, with_br: bool, gen_note: str = "") -> str:
    n = res.n
    out = [f"### {n:,} issues ({res.size / 1048576:.1f} MiB issues.jsonl; RSS floor "
           f"{res.floor_rss:.1f} MB)", ""]
    if gen_note:
        out += [gen_note, ""]
    hdr = "| row | mode | strand ms median (min–max) | RSS MB | floor + ms |"
    sep = "|---|---|--:|--:|--:|"
    if with_br:
        hdr += (" br ms (flush) | RSS MB | strand / br | br ms (--no-auto-flush) | RSS MB | "
                "strand / br no-flush |")
        sep += "--:|--:|--:|--:|--:|--:|"
    hdr += " hits (strand / br) | target |"
    sep += "--:|---|"
    out += [hdr, sep]
    for ln in res.lines:
        b, brss = cell(ln.bd, res.floor_rss)
        over = ""
        if ln.kind == "write" and ln.bd is not None:
            fl = ln.floor.median if ln.floor is not None else res.copy_floor
            over = f"{ln.bd.median - fl:+.1f}"
            if ln.floor is not None:
                over += f" (of {fmt(fl)})"
        row = f"| {ln.name} | {ln.mode} | {b} | {brss} | {over} |"
        if with_br:
            if ln.kind == "floor":
                row += " | | | | | |"
            else:
                r1, r1rss = cell(ln.br, res.floor_rss)
                r2, r2rss = cell(ln.br_nf, res.floor_rss)
                row += (f" {r1} | {r1rss} | {ratio(ln.bd, ln.br)} | {r2} | {r2rss} | "
                        f"{ratio(ln.bd, ln.br_nf)} |")
        row += f" {ln.hits} | {targets_for(n, ln, res.copy_floor)} |"
        out.append(row)
    notes = [ln for ln in res.lines if ln.br_note and with_br]
    if notes:
        out += ["", "— in br's columns: " + "; ".join(
            sorted({f"{ln.name} ({ln.mode}): {ln.br_note}" for ln in notes}))]
    out += [""] + res.notes
    return "\n".join(out) + "\n"


def ensure_big(args, n: int) -> tuple[str, str]:
    """The cached tracker (like run.py's), with how long generating it took."""
    path = R.tracker_path(args.workdir, n, args.seed)
    try:
        with open(path + ".json") as f:
            age = time.time() - json.load(f)["generated_at"]
        fresh = os.path.isdir(path) and age < R.CACHE_MAX_AGE_DAYS * 86400
    except (OSError, ValueError, KeyError):
        fresh = False
    t0 = time.perf_counter()
    tracker = R.ensure_tracker(args.workdir, n, args.seed)
    took = time.perf_counter() - t0
    size = os.path.getsize(os.path.join(tracker, ".beads", "issues.jsonl"))
    git_size = du_sb(os.path.join(tracker, ".git"))
    if fresh and os.path.isfile(path + ".gen.json"):
        with open(path + ".gen.json") as f:
            took = json.load(f)["generate_s"]
        how = f"cached; generating it took {took:.0f} s"
    else:
        with open(path + ".gen.json", "w") as f:
            json.dump({"generate_s": took}, f)
        how = f"generated in this run: {took:.0f} s" if not fresh else \
            f"cached (generation time unknown; this lookup {took:.1f} s)"
    return tracker, (f"Tracker: `bench/gen_tracker.py --issues {n}` ({how}); issues.jsonl "
                     f"{size / 1048576:.0f} MiB, .git {git_size / 1048576:.0f} MiB.")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_br-import"]:
        workdir, seed, n, tracker, br = json.loads(argv[1])
        try:
            print(br_workspace(argparse.Namespace(workdir=workdir, seed=seed), n, tracker, br))
        except BenchError as e:
            print(f"scale_bench.py: {e}", file=sys.stderr)
            return 1
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000",
                    help="comma-separated issue counts; 1000000 only when asked "
                         "(default: %(default)s)")
    ap.add_argument("--runs", type=int, default=11, help="timed runs per row (default: 11)")
    ap.add_argument("--runs-big", type=int, default=3,
                    help="timed runs per row at 1M issues and more (default: 3)")
    ap.add_argument("--bd", default=None, help="bd binary (default: target/release/bd)")
    ap.add_argument("--br", default=None, help="br 0.1.12 binary: adds its columns")
    ap.add_argument("--br-sizes", default="10000,100000",
                    help="sizes at which br runs, when --br is given (default: %(default)s)")
    ap.add_argument("--br-flush-runs", type=int, default=None,
                    help="timed runs of br's auto-flush writes, which take seconds each at "
                         "100k (default: --runs)")
    ap.add_argument("--workdir", default="/tmp/strand-bench",
                    help="cached trackers and scratch copies (default: %(default)s)")
    ap.add_argument("--out", default=None, help="also write the markdown report here")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default: 1)")
    ap.add_argument("--git-size", type=int, default=10000,
                    help="size at which `bd commit` and `bd sync` run, if it is among "
                         "--sizes (default: %(default)s; 0: never)")
    ap.add_argument("--commits", type=int, default=100,
                    help="commits in the `bd commit` row (default: 100)")
    ap.add_argument("--sync-changes", type=int, default=10,
                    help="changes per clone before each sync round (default: 10)")
    ap.add_argument("--sync-rounds", type=int, default=None,
                    help="sync round trips (default: --runs, at most 5)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copies")
    args = ap.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
        args.br_sizes_set = {int(s.replace("_", "")) for s in args.br_sizes.split(",")
                             if s.strip()}
    except ValueError:
        ap.error("--sizes/--br-sizes: expected comma-separated integers")
    if not sizes or min(sizes) < 1000:
        ap.error("--sizes: each size must be at least 1000")
    if args.runs < 1 or args.runs_big < 1 or args.commits < 1:
        ap.error("--runs, --runs-big and --commits must be at least 1")
    if args.sync_rounds is None:
        args.sync_rounds = min(args.runs, 5)
    args.workdir = os.path.abspath(args.workdir)

    bd = os.path.abspath(args.bd) if args.bd else R.default_bd()
    if not (os.path.isfile(bd) and os.access(bd, os.X_OK)):
        print(f"scale_bench.py: bd binary not found at {bd}\n"
              f"  build it first:  cargo build --release --locked   (or pass --bd PATH)",
              file=sys.stderr)
        return 2
    br = None
    if args.br:
        br = os.path.abspath(args.br)
        if not (os.path.isfile(br) and os.access(br, os.X_OK)):
            print(f"scale_bench.py: br binary not found or not executable: {br}",
                  file=sys.stderr)
            return 2

    try:
        os.makedirs(args.workdir, exist_ok=True)
        trackers, gen_notes = {}, {}
        for n in sizes:
            if n >= BIG:
                trackers[n], gen_notes[n] = ensure_big(args, n)
            else:
                trackers[n] = R.ensure_tracker(args.workdir, n, args.seed)
        with tempfile.TemporaryDirectory() as home:
            env = base_env(home, {"HOME": home})
            version = R.bd_version(bd, trackers[sizes[0]], env)
            br_version = ""
            if br:
                p = subprocess.run([br, "version"], cwd=home, env=env, capture_output=True,
                                   text=True)
                br_version = (p.stdout.strip() or p.stderr.strip()).splitlines()[0:1]
                br_version = br_version[0] if br_version else "(no output)"
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        rev = "" if args.bd else R.source_rev()
        load0 = os.getloadavg()
        header = [
            f"## strand scale bench (issue 15), {now}", "",
            f"- machine: {', '.join(R.machine_info())}; load average at start "
            f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}",
            f"- bd: {version} ({bd}{', source ' + rev if rev else ''})",
        ]
        if br:
            header.append(f"- br: {br_version} ({br}); run with its default auto-flush "
                          f"and with `--no-auto-flush` (SQLite only, JSONL left stale)")
        header += [
            f"- {args.runs} timed runs per row ({args.runs_big} at 1M and more); wall time of "
            f"the whole process (spawn to reap); RSS = max ru_maxrss over the runs "
            f"(`≤F`: at or below the harness floor F)",
            "- floors: spawn = `true` as a process; read and copy + fsync are timed in "
            "the harness itself (no spawn). *floor + ms* = a write's median minus the "
            "copy + fsync floor of the same size",
            "- warm = index present (strand's `.beads/.cache`, br's SQLite); cold = "
            "`.beads/.cache` deleted before each run; hits = items in the JSON output "
            "(strand / br)",
            f"- list filtered = `list --json --limit 0 {' '.join(FILTER)}`; list all open = "
            f"`list --json --limit 0` (each tool's default set of statuses); search = "
            f"`search {SEARCH_TERM} --json --limit 0`",
            "",
        ]
        text = "\n".join(header)
        print(text, flush=True)
        report = [text]
        for n in sizes:
            res = bench_size(n, trackers[n], args, bd, br)
            with_br = bool(br) and n in args.br_sizes_set
            table = render(res, with_br, gen_notes.get(n, ""))
            print(table, flush=True)
            report.append(table)
            if n == args.git_size:
                for part in (bench_commit, bench_sync):
                    t = part(n, trackers[n], args, bd)
                    print(t, flush=True)
                    report.append(t)
        load1 = os.getloadavg()
        tail = f"Load average at the end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}.\n"
        met = sum(t.count("✓") for t in report)
        missed = sum(t.count("✗") for t in report)
        tail += f"\nTargets: {met} met, {missed} missed.\n"
        print(tail)
        report.append(tail)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write("\n".join(report))
            log(f"wrote {args.out}")
    except BenchError as e:
        print(f"scale_bench.py: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("scale_bench.py: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
