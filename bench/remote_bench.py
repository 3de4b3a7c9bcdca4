#!/usr/bin/env python3
"""Benchmark claims coordinated through the git remote (`coordination = "remote"`).

    cargo build --release --locked
    python3 bench/remote_bench.py [--sizes 10000] [--quick] [--bd PATH]
                                  [--workdir /tmp/strand-bench] [--out FILE]

Three parts, for each size (see bench/README.md, "Claims through the remote"):

1. latency: one clone of a bare remote seeded from a gen_tracker repository, one
   machine (BD_HOME); `bd claim` of N distinct open items one after another, then
   `bd unclaim` of them, `bd ready --claim` and plain `bd ready`; with K claim refs
   already on the remote (K = 0 and 10000), over the local transport (a path) and
   over `git daemon` on loopback, and with `coordination = machine` as the baseline;
2. herd: C clones (C machines, C actors) started at once, each running
   `bd ready --claim` R times against the same pool; then the remote's claim refs
   are checked: no item claimed twice, no claim pushed over another;
3. sync: C clones each create one issue and claim it, then `bd sync` in rounds
   (P at a time) until every clone's issues.jsonl has the same bytes, then one
   final round on all.

Wall times are of whole `bd` processes (spawn to exit). Python 3.11 standard
library only; the tracker cache and the report helpers are bench/run.py's.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no bench/__pycache__ from importing run.py
import run as R  # noqa: E402  (bench/run.py: tracker cache, machine info, report helpers)

GIT_DAEMON = "/usr/lib/git-core/git-daemon"
WORK_TYPES = {"task", "bug", "feature", "chore"}
# The body of every pre-populated claim ref: one JSON line (model::claim's key order).
RELEASED_BODY = ('{{"item":"{id}","state":"released","agent":"x","epoch":1,'
                 '"at":"2026-01-01T00:00:00Z","workspace":"' + "0" * 24 +
                 '","machine":"' + "0" * 24 + '"}}\n')
REF_SAFE = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")


class BenchError(Exception):
    pass


log = R.log


# ---------------------------------------------------------------------------
# Processes


@dataclass
class Res:
    ms: float
    rc: int
    out: str
    err: str


def run_timed(argv: list[str], cwd: str, env: dict) -> Res:
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    ms = (time.perf_counter() - t0) * 1000.0
    return Res(ms, p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def must(res: Res, argv: list[str], cwd: str) -> Res:
    if res.rc != 0:
        raise BenchError(
            f"command failed with exit status {res.rc} (cwd {cwd}):\n"
            f"  $ {' '.join(R._shquote(a) for a in argv)}\n"
            + ("\n".join("  | " + ln for ln in res.err.strip().splitlines())
               or "  (no stderr output)"))
    return res


def git(cwd: str, env: dict, *args: str, input: bytes | None = None) -> str:
    p = subprocess.run(["git", *args], cwd=cwd, env=env, input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise BenchError(f"git {' '.join(args[:4])} failed in {cwd} (exit {p.returncode}):\n"
                         + p.stderr.decode("utf-8", "replace").strip())
    return p.stdout.decode("utf-8", "replace")


@dataclass
class Machine:
    """One clone on a machine of its own: its BD_HOME and actor."""
    bd: str
    clone: str
    home: str
    actor: str
    env: dict

    def argv(self, *args: str) -> list[str]:
        return [self.bd, "--actor", self.actor, *args]

    def run(self, *args: str) -> Res:
        return run_timed(self.argv(*args), self.clone, self.env)

    def ok(self, *args: str) -> Res:
        return must(self.run(*args), self.argv(*args), self.clone)


def base_env(bd: str, githome: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BD_") and not k.startswith("GIT_")}
    env["PATH"] = os.path.dirname(bd) + os.pathsep + env.get("PATH", "")
    env["HOME"] = githome  # a .gitconfig of our own (identity), nothing of the host's
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def machine(bd: str, base: dict, clone: str, home: str, actor: str) -> Machine:
    os.makedirs(home, exist_ok=True)
    env = dict(base, BD_HOME=home, BD_ACTOR=actor)
    return Machine(bd, clone, home, actor, env)


# ---------------------------------------------------------------------------
# Statistics


def p99(xs: list[float]) -> float:
    """Nearest-rank 99th percentile (with up to 100 samples, the max)."""
    s = sorted(xs)
    return s[max(0, math.ceil(0.99 * len(s)) - 1)]


def med(xs: list[float]) -> float:
    return statistics.median(xs)


fmt = R.fmt_ms


# ---------------------------------------------------------------------------
# The remote


def free_items(jsonl: str) -> tuple[list[str], list[str]]:
    """(every id, the claimable ones): open work items with no assignee, no
    dependencies, no defer_until and no children, in id order (as run.py picks)."""
    ids, parents, cands = [], set(), []
    with open(jsonl, "rb") as f:
        for line in f:
            if not line.startswith(b'{"id":"'):
                continue
            iid = line[7:line.index(b'"', 7)].decode()
            ids.append(iid)
            if "." in iid:
                parents.add(iid.rsplit(".", 1)[0])
            if b'"status":"open"' not in line:
                continue
            r = json.loads(line)
            if (r.get("status") == "open" and not r.get("assignee")
                    and not r.get("dependencies") and not r.get("defer_until")
                    and r.get("issue_type") in WORK_TYPES):
                cands.append(iid)
    return ids, sorted(c for c in cands if c not in parents)


def make_template(sd: str, tracker: str, bd: str, base: dict) -> str:
    """A bare remote holding the tracker's main plus a commit setting
    coordination = "remote" in .beads/config.toml."""
    seed = os.path.join(sd, "seed")
    tmpl = os.path.join(sd, "template.git")
    git(sd, base, "clone", "-q", tracker, seed)
    m = machine(bd, base, seed, os.path.join(sd, "home-seed"), "seeder")
    m.ok("config", "set", "coordination", "remote")
    git(seed, base, "add", ".beads/config.toml")
    git(seed, base, "commit", "-q", "-m", "coordination = remote")
    git(sd, base, "init", "-q", "--bare", "-b", "main", tmpl)
    git(seed, base, "push", "-q", tmpl, "main")
    shutil.rmtree(seed)
    shutil.rmtree(m.home)
    return tmpl


def populate_claims(bare: str, ids: list[str], base: dict) -> float:
    """Create refs/beads/claims/<id> for every id inside the bare repository: a
    released claim each (blob claim.json, its tree, a root commit under bd's
    claim identity), all in one `git fast-import` (one pack, no loose objects),
    then pack-refs as a host's gc would. Returns the seconds it took.

    (Writing them as loose objects with hash-object/mktree/commit-tree costs
    30,000 file creations, 7-45 s on the reference VM, and leaves the remote
    far over gc.auto, so the first push starts a repack in the background of
    the measurement.)"""
    t0 = time.perf_counter()
    chunks = []
    for i in ids:
        if not REF_SAFE.match(i):
            raise BenchError(f"id {i!r} is not its own ref name; pick another prefix")
        body = RELEASED_BODY.format(id=i).encode()
        msg = f"bd: release {i} by x\n".encode()
        chunks.append(b"commit refs/beads/claims/%s\n"
                      b"author bd <bd@claims.invalid> 1767225600 +0000\n"
                      b"committer bd <bd@claims.invalid> 1767225600 +0000\n"
                      b"data %d\n%s"
                      b"M 100644 inline claim.json\ndata %d\n%s\n"
                      % (i.encode(), len(msg), msg, len(body), body))
    git(bare, base, "fast-import", "--quiet", input=b"".join(chunks))
    git(bare, base, "pack-refs", "--all")
    return time.perf_counter() - t0


class Daemon:
    """`git daemon` on loopback serving every repository under `base`."""

    def __init__(self, exe: str, base: str, env: dict):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.p = subprocess.Popen(
            [exe, "--export-all", "--enable=receive-pack", f"--base-path={base}",
             "--listen=127.0.0.1", f"--port={self.port}", "--reuseaddr", base],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.p.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise BenchError(f"git daemon ({exe}) did not listen on {self.port}")
                time.sleep(0.02)

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def claimed_id(res: Res) -> str | None:
    """The id `bd --json ready --claim` claimed, or None (nothing free)."""
    doc = json.loads(res.out)
    if isinstance(doc, dict):  # an envelope, should one ever wrap the list
        doc = doc.get("issues") or doc.get("data") or []
    return doc[0]["id"] if doc else None


def remote_claims(bare: str, url_cwd: str, base: dict) -> dict[str, dict]:
    """Every claim ref of the remote (git ls-remote), with its claim.json and
    whether its commit has a parent (a claim pushed over an earlier one)."""
    refs = {}
    for line in git(url_cwd, base, "ls-remote", bare, "refs/beads/claims/*").splitlines():
        oid, name = line.split("\t")
        refs[name] = oid
    parents = {}
    for line in git(bare, base, "for-each-ref", "--format=%(refname) %(parent)",
                    "refs/beads/claims/").splitlines():
        name, _, par = line.partition(" ")
        parents[name] = par.strip()
    names = sorted(refs)
    out = {}
    if names:
        batch = git(bare, base, "cat-file", "--batch",
                    input="".join(f"{refs[n]}:claim.json\n" for n in names).encode())
        pos = 0
        for n in names:
            nl = batch.index("\n", pos)
            size = int(batch[pos:nl].split()[2])
            body = batch[nl + 1:nl + 1 + size]
            pos = nl + 1 + size + 1
            c = json.loads(body)
            c["_parents"] = parents.get(n, "")
            out[n[len("refs/beads/claims/"):]] = c
    return out


# ---------------------------------------------------------------------------
# Part 1: latency


@dataclass
class LatRow:
    label: str
    k: int
    claim: list[float] = field(default_factory=list)
    unclaim: list[float] = field(default_factory=list)
    ready_claim: list[float] = field(default_factory=list)
    ready: list[float] = field(default_factory=list)
    first_ready_claim: float = 0.0
    ls_remote: list[float] = field(default_factory=list)


def part_latency(sd, template, bd, base, items, all_ids, args, daemon_box) -> list[LatRow]:
    scen = [("machine", "path", 0)]
    for k in args.refs:
        scen.append(("remote", "path", k))
    for k in ([] if args.no_daemon else args.daemon_refs):
        scen.append(("remote", "daemon", k))
    n = args.claims
    rows = []
    pool = iter(items)
    for coord, transport, k in scen:
        slug = f"{coord}-{transport}-k{k}"
        remote = os.path.join(sd, f"remote-{slug}.git")
        shutil.copytree(template, remote, symlinks=True)
        if k:
            refs = all_ids[:k] + [f"{args.prefix}-kref{j}" for j in range(max(0, k - len(all_ids)))]
            secs = populate_claims(remote, refs, base)
            log(f"  [{slug}] {k:,} claim refs created in {secs:.1f} s")
        if transport == "daemon":
            if daemon_box[0] is None:
                daemon_box[0] = Daemon(args.git_daemon, sd, base)
            url = daemon_box[0].url(os.path.basename(remote))
        else:
            url = remote
        clone = os.path.join(sd, f"clone-{slug}")
        git(sd, base, "clone", "-q", url, clone)
        m = machine(bd, base, clone, os.path.join(sd, f"home-{slug}"), "bench")
        if coord == "machine":
            m.ok("config", "set", "coordination", "machine")
        ids = [next(pool) for _ in range(n + 1)]
        warm, ids = ids[0], ids[1:]
        # Untimed warm-up: the index, the home (its secret), one claim and release.
        m.ok("ready")
        m.ok("claim", warm)
        m.ok("unclaim", warm)
        label = ("machine (baseline)" if coord == "machine"
                 else f"remote, {'git daemon' if transport == 'daemon' else 'path'}")
        row = LatRow(label, k)
        for i in ids:
            row.claim.append(m.ok("claim", i).ms)
        for i in ids:
            row.unclaim.append(m.ok("unclaim", i).ms)
        # ready --claim (fetches every claim ref first), each followed by an
        # untimed unclaim; the first one is reported on its own (it fetches all
        # K refs into the clone).
        for j in range(args.ready_runs + 1):
            r = m.ok("--json", "ready", "--claim")
            got = claimed_id(r)
            if got is None:
                raise BenchError(f"{slug}: ready --claim claimed nothing")
            if j == 0:
                row.first_ready_claim = r.ms
            else:
                row.ready_claim.append(r.ms)
            m.ok("unclaim", got)
        for _ in range(args.ready_runs):
            row.ready.append(m.ok("ready").ms)
        if coord == "remote":  # git alone, the transport's floor: one connection
            argv = ["git", "ls-remote", url, "refs/heads/main"]
            for _ in range(args.ready_runs):
                row.ls_remote.append(must(run_timed(argv, clone, base), argv, clone).ms)
        rows.append(row)
        log(f"  [{slug}] claim median {fmt(med(row.claim))} p99 {fmt(p99(row.claim))}; "
            f"unclaim median {fmt(med(row.unclaim))} p99 {fmt(p99(row.unclaim))}; "
            f"ready --claim median {fmt(med(row.ready_claim))} "
            f"(first {fmt(row.first_ready_claim)}); ready median {fmt(med(row.ready))} ms")
        if k and coord == "remote" and args.fetched_claims:
            # The same clone now holds a tracking ref for each of the K claims
            # (ready --claim fetched them all, as ready --fresh, dispatch and
            # sync do): claims and releases in that steady state.
            row2 = LatRow(label + ", after ready --claim fetched all K refs", k)
            more = [next(pool) for _ in range(args.fetched_claims)]
            for i in more:
                row2.claim.append(m.ok("claim", i).ms)
            for i in more:
                row2.unclaim.append(m.ok("unclaim", i).ms)
            rows.append(row2)
            log(f"  [{slug}, K refs fetched] claim median {fmt(med(row2.claim))} "
                f"p99 {fmt(p99(row2.claim))}; unclaim median {fmt(med(row2.unclaim))} "
                f"p99 {fmt(p99(row2.unclaim))} ms")
        if not args.keep:
            for p in (clone, m.home, remote):
                shutil.rmtree(p, ignore_errors=True)
    return rows


# ---------------------------------------------------------------------------
# Clones for parts 2 and 3


def make_clones(sd, name, template, bd, base, count) -> tuple[str, list[Machine], float]:
    remote = os.path.join(sd, f"remote-{name}.git")
    shutil.copytree(template, remote, symlinks=True)
    t0 = time.perf_counter()
    ms = []
    for i in range(count):
        clone = os.path.join(sd, name, f"c{i}")
        git(sd, base, "clone", "-q", "--shared", remote, clone)
        m = machine(bd, base, clone, os.path.join(sd, name, f"home{i}"), f"agent-{i}")
        m.ok("ready")  # the index, as an agent working there would have it
        ms.append(m)
    return remote, ms, time.perf_counter() - t0


# ---------------------------------------------------------------------------
# Part 2: concurrent claimers


@dataclass
class HerdResult:
    clones: int
    per_clone: int
    wall_s: float
    times: list[float]
    claimed: int
    empty: int
    failed: list[str]
    doubles: list[str]
    mismatches: list[str]
    over: list[str]
    remote_refs: int
    setup_s: float


def part_herd(sd, template, bd, base, args) -> HerdResult:
    remote, ms, setup_s = make_clones(sd, "herd", template, bd, base, args.clones)
    log(f"  [herd] {len(ms)} clones ready in {setup_s:.1f} s")
    barrier = threading.Barrier(len(ms) + 1)
    results: list[list[tuple[Machine, Res]]] = [[] for _ in ms]

    def worker(i: int) -> None:
        barrier.wait()
        for _ in range(args.per_clone):
            results[i].append((ms[i], ms[i].run("--json", "ready", "--claim")))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(ms))]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0

    times, by_item, failed, empty = [], {}, [], 0
    for rs in results:
        for m, r in rs:
            times.append(r.ms)
            if r.rc != 0:
                failed.append(f"{m.actor}: exit {r.rc}: {r.err.strip().splitlines()[-1:]}")
                continue
            try:
                got = claimed_id(r)
            except (ValueError, KeyError, IndexError, TypeError):
                failed.append(f"{m.actor}: exit 0 but no JSON list on stdout: {r.out[:80]!r}")
                continue
            if got is None:
                empty += 1
            else:
                by_item.setdefault(got, []).append(m.actor)
    doubles = sorted(i for i, who in by_item.items() if len(who) > 1)
    tv = time.perf_counter()
    on_remote = remote_claims(remote, sd, base)
    log(f"  [herd] remote claims read in {time.perf_counter() - tv:.1f} s")
    mismatches = []
    for item, who in by_item.items():
        c = on_remote.get(item)
        if c is None or c.get("state") != "claimed" or c.get("agent") != who[0]:
            mismatches.append(f"{item}: reported by {who}, remote holds {c and c.get('agent')}"
                              f" ({c and c.get('state')})")
    for item, c in on_remote.items():
        if item not in by_item:
            mismatches.append(f"{item}: on the remote ({c.get('agent')}, {c.get('state')}) "
                              f"but no process reported claiming it")
    over = sorted(i for i, c in on_remote.items() if c["_parents"])
    res = HerdResult(len(ms), args.per_clone, wall, times, sum(len(w) for w in by_item.values()),
                     empty, failed, doubles, mismatches, over, len(on_remote), setup_s)
    log(f"  [herd] {res.claimed} claims in {wall:.1f} s; per ready --claim median "
        f"{fmt(med(times))} p99 {fmt(p99(times))} ms; empty {empty}, failed {len(failed)}, "
        f"doubles {len(doubles)}, mismatches {len(mismatches)}")
    if not args.keep:
        tc = time.perf_counter()
        shutil.rmtree(os.path.join(sd, "herd"), ignore_errors=True)
        shutil.rmtree(remote, ignore_errors=True)
        log(f"  [herd] cleaned up in {time.perf_counter() - tc:.1f} s")
    return res


# ---------------------------------------------------------------------------
# Part 3: sync convergence


@dataclass
class SyncResult:
    clones: int
    parallel: int
    rounds: int
    converged: bool
    final_identical: bool
    matches_remote: bool
    wall_s: float
    round_s: list[float]
    times: list[float]
    failures: list[str]
    retried: int
    create_ms: list[float]
    claim_ms: list[float]
    missing: list[str]
    setup_s: float


def sha_of(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def part_sync(sd, template, bd, base, args) -> SyncResult:
    remote, ms, setup_s = make_clones(sd, "sync", template, bd, base, args.clones)
    log(f"  [sync] {len(ms)} clones ready in {setup_s:.1f} s")
    created, create_ms, claim_ms = {}, [], []
    for m in ms:
        r = m.ok("--json", "create", f"Sync bench issue of {m.actor}", "-p", "2", "-t", "task",
                 "-d", "created by remote_bench.py")
        create_ms.append(r.ms)
        doc = json.loads(r.out)
        iid = doc["id"] if isinstance(doc, dict) else doc[0]["id"]
        created[iid] = m.actor
        claim_ms.append(m.ok("claim", iid).ms)
    times, failures, round_s = [], [], []
    retried = 0

    def one(m: Machine) -> tuple[Machine, Res]:
        return m, m.run("--json", "sync")

    def round_() -> None:
        nonlocal retried
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.sync_parallel) as ex:
            for m, r in ex.map(one, ms):
                times.append(r.ms)
                if r.rc != 0:
                    last = (r.err.strip().splitlines() or ["(no stderr)"])
                    failures.append(f"round {len(round_s) + 1}, {m.actor}: exit {r.rc}: "
                                    f"{' / '.join(x.strip() for x in last[:2])}")
                    continue
                try:
                    if json.loads(r.out).get("push_attempts", 0) > 1:
                        retried += 1
                except (ValueError, AttributeError):
                    pass
        round_s.append(time.perf_counter() - t0)

    def hashes() -> set[str]:
        return {sha_of(os.path.join(m.clone, ".beads", "issues.jsonl")) for m in ms}

    t_all = time.perf_counter()
    rounds, converged = 0, False
    while rounds < args.max_rounds:
        round_()
        rounds += 1
        hs = hashes()
        log(f"  [sync] round {rounds}: {round_s[-1]:.1f} s, {len(hs)} distinct issues.jsonl")
        if len(hs) == 1:
            converged = True
            break
    round_()  # the final round on all
    wall = time.perf_counter() - t_all
    hs = hashes()
    final_identical = len(hs) == 1
    remote_bytes = subprocess.run(["git", "show", "main:.beads/issues.jsonl"], cwd=remote,
                                  env=base, stdout=subprocess.PIPE, check=True).stdout
    matches_remote = final_identical and hashlib.sha256(remote_bytes).hexdigest() in hs
    # Every created issue is there, claimed by its creator; and its claim ref too.
    missing = []
    lines = {}
    for line in remote_bytes.splitlines():
        if line.startswith(b'{"id":"'):
            iid = line[7:line.index(b'"', 7)].decode()
            if iid in created:
                lines[iid] = json.loads(line)
    on_remote = remote_claims(remote, sd, base)
    for iid, actor in created.items():
        r = lines.get(iid)
        if r is None or r.get("status") != "in_progress" or r.get("assignee") != actor:
            missing.append(f"{iid}: tracker has {r and (r.get('status'), r.get('assignee'))}")
        c = on_remote.get(iid)
        if c is None or c.get("state") != "claimed" or c.get("agent") != actor:
            missing.append(f"{iid}: claim ref holds {c and (c.get('state'), c.get('agent'))}")
    res = SyncResult(len(ms), args.sync_parallel, rounds, converged, final_identical,
                     matches_remote, wall, round_s, times, failures, retried, create_ms,
                     claim_ms, missing, setup_s)
    log(f"  [sync] converged after {rounds} round(s) ({converged}); total {wall:.1f} s; "
        f"per sync median {fmt(med(times))} p99 {fmt(p99(times))} ms; "
        f"{len(failures)} failed, {retried} pushed on the second try")
    if not args.keep:
        shutil.rmtree(os.path.join(sd, "sync"), ignore_errors=True)
        shutil.rmtree(remote, ignore_errors=True)
    return res


# ---------------------------------------------------------------------------
# Report


def render(n: int, size: int, lat: list[LatRow], herd: HerdResult | None,
           sync: SyncResult | None, args) -> str:
    out = [f"### {n:,} issues ({size / 1048576:.1f} MiB issues.jsonl)", ""]
    if lat:
        out += [f"**Claim latency** ({args.claims} distinct open items claimed one after "
                f"another, then unclaimed; `ready --claim` and `ready` {args.ready_runs} runs "
                f"each; ms, wall time of the whole `bd` process; p99 nearest-rank):", "",
                "| coordination, transport | claim refs on remote | claim median (n) | p99 | "
                "unclaim median | p99 | ready --claim median | p99 | first ready --claim | "
                "ready median | git ls-remote median |",
                "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        def cell(xs, f):
            return fmt(f(xs)) if xs else "—"

        for r in lat:
            k = "—" if r.label.startswith("machine") else f"{r.k:,}"
            out.append(f"| {r.label} | {k} | {fmt(med(r.claim))} ({len(r.claim)}) | "
                       f"{fmt(p99(r.claim))} | {fmt(med(r.unclaim))} | {fmt(p99(r.unclaim))} | "
                       f"{cell(r.ready_claim, med)} | {cell(r.ready_claim, p99)} | "
                       f"{fmt(r.first_ready_claim) if r.ready_claim else '—'} | "
                       f"{cell(r.ready, med)} | {cell(r.ls_remote, med)} |")
        out.append("")
    if herd:
        h = herd
        ok = not (h.doubles or h.mismatches or h.over or h.failed)
        out += [f"**{h.clones} concurrent claimers** ({h.clones} clones, one machine and actor "
                f"each, all started at once, each running `bd ready --claim` {h.per_clone} "
                f"times; remote over a path):", "",
                "| what | value |", "|---|--:|",
                f"| total wall time | {h.wall_s:.1f} s |",
                f"| claims made | {h.claimed} of {h.clones * h.per_clone} runs "
                f"({h.claimed / h.wall_s:.1f}/s) |",
                f"| per `ready --claim` median | {fmt(med(h.times))} ms |",
                f"| per `ready --claim` p99 | {fmt(p99(h.times))} ms |",
                f"| runs that claimed nothing / failed | {h.empty} / {len(h.failed)} |",
                f"| items claimed twice | {len(h.doubles)} |",
                f"| claim refs on the remote (each one commit, none over another) | "
                f"{h.remote_refs} ({len(h.over)} over another) |",
                f"| outputs vs remote claim.json disagreements | {len(h.mismatches)} |",
                f"| check | {'✓ no item claimed twice' if ok else '✗ FAILED'} |", ""]
        for x in (h.failed + h.doubles + h.mismatches)[:10]:
            out.append(f"- {x}")
        if h.failed or h.doubles or h.mismatches:
            out.append("")
    if sync:
        s = sync
        out += [f"**{s.clones}-clone sync convergence** (each clone created one issue and "
                f"claimed it; then rounds of `bd sync` on every clone, {s.parallel} at a time, "
                f"clones in a fixed order, until all issues.jsonl were identical; then one final "
                f"round):", "",
                "| what | value |", "|---|--:|",
                f"| rounds until identical | {s.rounds}{'' if s.converged else ' (NOT converged)'} |",
                f"| total wall time (incl. final round) | {s.wall_s:.1f} s "
                f"(rounds: {', '.join(f'{x:.1f}' for x in s.round_s)} s) |",
                f"| per `bd sync` median | {fmt(med(s.times))} ms |",
                f"| per `bd sync` p99 | {fmt(p99(s.times))} ms |",
                f"| syncs failed / pushed on the second try | {len(s.failures)} / {s.retried} |",
                f"| after the final round | "
                f"{'identical' if s.final_identical else 'DIFFERENT'}"
                f"{', = remote main' if s.matches_remote else ', ≠ remote main'} |",
                f"| created issues claimed in tracker and claim ref | "
                f"{'all ✓' if not s.missing else f'{len(s.missing)} problems ✗'} |",
                f"| (setup: `bd create` / `bd claim` median) | {fmt(med(s.create_ms))} / "
                f"{fmt(med(s.claim_ms))} ms |", ""]
        for x in (s.failures + s.missing)[:10]:
            out.append(f"- {x}")
        if s.failures or s.missing:
            out.append("")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000", help="comma-separated issue counts (default: %(default)s)")
    ap.add_argument("--quick", action="store_true",
                    help="shrink the counts: 10 claims, 8 clones, 2 claims per clone")
    ap.add_argument("--claims", type=int, default=None, help="items claimed per latency row (default 50)")
    ap.add_argument("--ready-runs", type=int, default=None,
                    help="timed `ready --claim`, `ready` and `git ls-remote` runs per latency row "
                         "(default 5)")
    ap.add_argument("--refs", default="0,10000",
                    help="claim refs pre-populated on the remote, comma-separated (default: %(default)s)")
    ap.add_argument("--fetched-claims", type=int, default=None,
                    help="claims (and unclaims) again once the clone fetched all K refs "
                         "(default 20; 0 skips)")
    ap.add_argument("--daemon-refs", default="0",
                    help="the same over git daemon (default: %(default)s)")
    ap.add_argument("--clones", type=int, default=None, help="clones in parts 2 and 3 (default 50)")
    ap.add_argument("--per-clone", type=int, default=None,
                    help="`ready --claim` runs per clone in part 2 (default 3)")
    ap.add_argument("--sync-parallel", type=int, default=4,
                    help="`bd sync` processes at a time in part 3 (default: %(default)s; 1 = sequential)")
    ap.add_argument("--max-rounds", type=int, default=8, help="give up converging after this many rounds")
    ap.add_argument("--parts", default="latency,herd,sync", help="which parts (default: %(default)s)")
    ap.add_argument("--no-daemon", action="store_true", help="skip the git daemon rows")
    ap.add_argument("--git-daemon", default=GIT_DAEMON, help="git daemon binary (default: %(default)s)")
    ap.add_argument("--bd", default=None, help="bd binary (default: target/release/bd)")
    ap.add_argument("--workdir", default="/tmp/strand-bench",
                    help="tracker cache (shared with run.py) and scratch (default: %(default)s)")
    ap.add_argument("--out", default=None, help="also write the markdown report here")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default: 1)")
    ap.add_argument("--prefix", default="bd", help=argparse.SUPPRESS)
    ap.add_argument("--keep", action="store_true", help="keep workdir/remote-N afterwards")
    args = ap.parse_args(argv)
    q = args.quick
    args.claims = args.claims or (10 if q else 50)
    args.ready_runs = args.ready_runs or (3 if q else 5)
    args.clones = args.clones or (8 if q else 50)
    if args.fetched_claims is None:
        args.fetched_claims = 5 if q else 20
    args.per_clone = args.per_clone or (2 if q else 3)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
        args.refs = [int(s.replace("_", "")) for s in args.refs.split(",") if s.strip()]
        args.daemon_refs = [int(s.replace("_", "")) for s in args.daemon_refs.split(",")
                            if s.strip()]
    except ValueError:
        ap.error("--sizes and --refs take comma-separated integers")
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if not parts <= {"latency", "herd", "sync"}:
        ap.error("--parts: latency, herd, sync")
    if not sizes or min(sizes) < 1000:
        ap.error("--sizes: each size must be at least 1000")
    args.workdir = os.path.abspath(args.workdir)
    bd = os.path.abspath(args.bd) if args.bd else R.default_bd()
    if not (os.path.isfile(bd) and os.access(bd, os.X_OK)):
        print(f"remote_bench.py: bd binary not found at {bd}\n"
              f"  build it first:  cargo build --release --locked   (or pass --bd PATH)",
              file=sys.stderr)
        return 2
    if "latency" in parts and not args.no_daemon and not os.access(args.git_daemon, os.X_OK):
        print(f"remote_bench.py: {args.git_daemon} not found (--git-daemon PATH, or --no-daemon)",
              file=sys.stderr)
        return 2

    daemon_box = [None]
    try:
        t_start = time.perf_counter()
        trackers = {n: R.ensure_tracker(args.workdir, n, args.seed) for n in sizes}
        githome = os.path.join(args.workdir, "remote-githome")
        os.makedirs(githome, exist_ok=True)
        with open(os.path.join(githome, ".gitconfig"), "w") as f:
            f.write("[user]\n\tname = Bench\n\temail = bench@example.invalid\n"
                    "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n")
        base = base_env(bd, githome)
        version = R.bd_version(bd, trackers[sizes[0]], dict(base, BD_HOME=githome))
        gitv = git(args.workdir, base, "--version").strip()
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        rev = "" if args.bd else R.source_rev()  # another binary: this tree says nothing of it
        header = "\n".join([
            f"## strand remote-coordination bench, {now}", "",
            f"- machine: {', '.join(R.machine_info())}",
            f"- bd: {version} ({bd}{', source ' + rev if rev else ''}); {gitv}"
            + ("" if args.no_daemon or "latency" not in parts else f"; daemon {args.git_daemon}"),
            "- every clone is a machine of its own (its own `BD_HOME`) and actor; the remote is "
            "a bare repository on this machine, reached by its path (local transport) or "
            "over `git daemon` on 127.0.0.1",
            "- wall time of the whole `bd` process, spawn to exit; p99 is nearest-rank "
            "(with ≤100 samples it is the max)",
            "- load average at start: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
            + " (anything else running on the machine shows in every number)", ""])
        print(header, flush=True)
        report = [header]
        for n in sizes:
            sd = os.path.join(args.workdir, f"remote-{n}")
            if os.path.exists(sd):
                shutil.rmtree(sd)
            os.makedirs(sd)
            tt = time.perf_counter()
            template = make_template(sd, trackers[n], bd, base)
            log(f"[{n:,}] template remote made in {time.perf_counter() - tt:.1f} s")
            all_ids, items = free_items(os.path.join(trackers[n], ".beads", "issues.jsonl"))
            need = ((args.claims + 1) * (1 + len(args.refs)
                                         + (0 if args.no_daemon else len(args.daemon_refs)))
                    + args.fetched_claims * sum(1 for k in args.refs if k))
            if len(items) < need:
                raise BenchError(f"{n:,} issues: need {need} claimable open items, found "
                                 f"{len(items)}; use fewer --claims or a larger size")
            lat = herd = sync = None
            if "latency" in parts:
                lat = part_latency(sd, template, bd, base, items, all_ids, args, daemon_box)
            if daemon_box[0] is not None:
                daemon_box[0].stop()
                daemon_box[0] = None
            if "herd" in parts:
                herd = part_herd(sd, template, bd, base, args)
            if "sync" in parts:
                sync = part_sync(sd, template, bd, base, args)
            size = os.path.getsize(os.path.join(trackers[n], ".beads", "issues.jsonl"))
            table = render(n, size, lat or [], herd, sync, args)
            print(table, flush=True)
            report.append(table)
            if not args.keep:
                shutil.rmtree(sd, ignore_errors=True)
        took = (f"Whole run: {time.perf_counter() - t_start:.0f} s; load average at end: "
                + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + ".")
        print(took)
        report.append(took + "\n")
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write("\n".join(report))
            log(f"wrote {args.out}")
    except BenchError as e:
        print(f"remote_bench.py: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("remote_bench.py: interrupted", file=sys.stderr)
        return 130
    finally:
        if daemon_box[0] is not None:
            daemon_box[0].stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
