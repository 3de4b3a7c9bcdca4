#!/usr/bin/env python3
"""Generate a synthetic strand tracker (a git repository with .beads/) for benchmarks.

    python3 bench/gen_tracker.py --issues 10000 --out /tmp/t10k [--seed 1] [--prefix bd]

The output is deterministic for a given (--issues, --seed, --prefix, --now); --now
defaults to the start of the current UTC day, so runs on the same day agree byte for
byte. Only the Python 3.11 standard library is used.

The issues follow strand's canonical issues.jsonl format (SPEC.md section 3): one
compact JSON object per line, keys in the canonical order, sorted by id, LF after
every line. The mix of statuses, types, labels, dependencies, comments and text sizes
is meant to look like a real, long-lived project tracker.
"""

from __future__ import annotations

import argparse
import bisect
import calendar
import gc
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time

NS = 1_000_000_000
MINUTE = 60 * NS
HOUR = 60 * MINUTE
DAY = 24 * HOUR

KEY_ORDER = (
    "id", "title", "description", "design", "acceptance_criteria", "notes", "status",
    "priority", "issue_type", "assignee", "owner", "estimated_minutes", "created_at",
    "created_by", "updated_at", "started_at", "closed_at", "close_reason", "due_at",
    "defer_until", "external_ref", "metadata", "labels", "dependencies", "comments",
    "deleted_at", "deleted_by", "delete_reason", "original_type",
)
_KEY_RANK = {k: i for i, k in enumerate(KEY_ORDER)}

STATUS_WEIGHTS = [
    ("closed", 75), ("open", 12), ("in_progress", 6), ("deferred", 3),
    ("blocked", 2), ("tombstone", 2),
]
PRIORITY_WEIGHTS = [(0, 4), (1, 16), (2, 50), (3, 20), (4, 10)]
TYPE_WEIGHTS = [
    ("task", 38), ("bug", 26), ("feature", 18), ("epic", 4), ("chore", 10),
    ("event", 2), ("message", 1), ("molecule", 1),
]
CHILD_FRACTION = 0.08

LABELS = [
    "api", "auth", "backend", "bench", "blocked-upstream", "build", "cli", "ci",
    "cleanup", "config", "db", "deps", "design", "docs", "flaky", "frontend",
    "good-first-issue", "infra", "merge", "migration", "needs-repro", "needs-review",
    "onboarding", "p-critical-path", "perf", "platform:linux", "platform:macos",
    "refactor", "regression", "release", "security", "sync", "tech-debt", "telemetry",
    "test", "triage", "ui", "ux", "windows", "wontfix-candidate",
]
ACTORS = [
    "alice", "bob", "carol", "dave/vc", "erin", "frank", "grace/web",
    "agent-claude-1", "agent-claude-2", "codex/backend", "gpt-worker-3", "mallory.o",
]
OWNERS = ["alice@example.com", "bob@example.com", "carol@example.org", "team-platform",
          "team-web", "dave"]
CLOSE_REASONS = [
    "Done", "Fixed", "Implemented", "Completed", "Merged in #{n}", "Fixed in {h}",
    "Duplicate of {id}", "wontfix", "Won't fix: out of scope", "Cannot reproduce",
    "Superseded by {id}", "Obsolete after refactor", "Shipped in v0.{n}",
    "canceled", "Resolved; see comments",
]
DELETE_REASONS = ["duplicate", "created by mistake", "spam", "merged into {id}",
                  "test issue", "batch delete", "moved to another tracker"]
EST_MINUTES = [15, 30, 45, 60, 90, 120, 180, 240, 480, 960]

WORDS = (
    "the a an of to in for on with from by and or but not when after before while "
    "during until because however therefore also only still already just again "
    "index cache lock file line record issue tracker workspace branch commit merge "
    "rebase conflict driver stamp clock ledger claim lease hook agent mail message "
    "thread inbox spool attachment label dependency edge parent child epic task bug "
    "feature chore priority status closed open blocked deferred tombstone ready "
    "query filter sort limit page offset cursor batch queue worker scheduler retry "
    "timeout deadline latency throughput memory allocation buffer stream parser "
    "serializer schema field value key map set list vector array string byte char "
    "unicode utf-8 escape newline whitespace trailing leading config option flag "
    "default override environment variable path folder directory symlink permission "
    "signal process thread mutex atomic rename fsync temp crash recovery corruption "
    "quarantine doctor repair migration import export legacy classic compatibility "
    "regression test fixture snapshot golden benchmark profile flamegraph hot cold "
    "warm stale fresh rebuild invalidate refresh load save write read scan seek "
    "mmap checksum hash digest sha256 base36 prefix suffix collision nonce counter "
    "user actor owner assignee reviewer maintainer contributor team project remote "
    "origin fork upstream downstream network offline online sync push pull fetch "
    "should must could might will would can cannot never always sometimes often "
    "rarely fails breaks hangs panics crashes leaks drops loses duplicates reorders "
    "returns prints logs reports warns refuses accepts ignores handles supports "
    "adds removes renames moves updates fixes improves simplifies documents tests "
    "slow fast large small empty missing invalid valid broken correct wrong stable "
    "flaky deterministic concurrent parallel sequential lazy eager partial complete "
    "naïve café façade résumé über — → ≤ ≥ ✓ 日本語 ключ"
).split()
CODE_WORDS = [
    "`bd ready`", "`bd list --json`", "`issues.jsonl`", "`config.toml`", "`--limit 10`",
    "`BD_ACTOR`", "`std::fs::rename`", "`serde_json::Value`", "`git merge`",
    "`.beads/.cache`", "`O(n log n)`", "`Result<T, E>`", "`fsync(2)`", "`HashMap`",
    "`\"quoted\"`", "`C:\\\\Users\\\\dev`", "`a\\tb`", "`<html>&amp;`",
]
HEADINGS = ["## Summary", "## Steps to reproduce", "## Expected", "## Actual",
            "## Context", "## Proposal", "## Notes", "### Details", "## Plan",
            "## Open questions", "## Acceptance"]
TITLE_VERBS = [
    "Fix", "Add", "Remove", "Refactor", "Investigate", "Document", "Speed up",
    "Support", "Handle", "Validate", "Migrate", "Rename", "Test", "Clean up",
    "Cache", "Reduce", "Improve", "Split", "Deprecate", "Audit",
]
COMPONENTS = [
    "in the index", "in bd ready", "for merge driver", "in config loader",
    "in claim path", "when syncing", "on macOS", "on Linux", "for large trackers",
    "in JSON output", "in the CLI", "for mail delivery", "in doctor --fix",
    "for child IDs", "under concurrent writers", "after git pull",
]


def base36(n: int, width: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(digits[r])
    return "".join(reversed(out))


def id_length(n_issues: int) -> int:
    # Matches the bench brief: 5 chars up to ~5.9k issues, 6 up to ~35k, 7 above.
    if n_issues <= 5900:
        return 5
    if n_issues <= 35000:
        return 6
    return 7


_DAY_CACHE: dict[int, str] = {}


def fmt_time(ns: int) -> str:
    """RFC3339 UTC with nanoseconds: 2026-03-04T05:06:07.123456789Z."""
    s, frac = divmod(ns, NS)
    day, sec = divmod(s, 86400)
    date = _DAY_CACHE.get(day)
    if date is None:
        date = _DAY_CACHE[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
    h, rem = divmod(sec, 3600)
    m, sec = divmod(rem, 60)
    return "%s%02d:%02d:%02d.%09dZ" % (date, h, m, sec, frac)


class FastRandom(random.Random):
    """random.Random with float-based choice/randint/randrange: several times faster
    than the exact versions, plenty uniform for synthetic data, still seeded."""

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def randint(self, a, b):
        return a + int(self.random() * (b - a + 1))

    def randrange(self, n):
        return int(self.random() * n)


def parse_now(text: str | None) -> int:
    if text is None:
        t = int(time.time())
        return (t - t % 86400) * NS
    if text.isdigit():
        return int(text) * NS
    base = text.rstrip("Z")
    frac = 0
    if "." in base:
        base, f = base.split(".", 1)
        frac = int((f + "000000000")[:9])
    st = time.strptime(base, "%Y-%m-%dT%H:%M:%S")
    return calendar.timegm(st) * NS + frac


class TextGen:
    """Fast word-salad markdown: sentences are pre-built once, then assembled."""

    def __init__(self, rng: random.Random, n_sentences: int = 6000):
        self.rng = rng
        words = WORDS
        sents = []
        for _ in range(n_sentences):
            k = rng.randint(6, 20)
            ws = rng.choices(words, k=k)
            if rng.random() < 0.25:
                ws[rng.randrange(k)] = rng.choice(CODE_WORDS)
            s = " ".join(ws)
            sents.append(s[0].upper() + s[1:] + rng.choice(".....?!:"))
        self.sentences = sents
        self.avg_len = sum(map(len, sents)) / len(sents) + 1

    def paragraph(self, approx: int) -> str:
        k = max(1, round(approx / self.avg_len))
        return " ".join(self.rng.choices(self.sentences, k=k))

    def markdown(self, lo: int, hi: int) -> str:
        """Markdown text with length in [lo, hi] (characters)."""
        rng = self.rng
        target = lo + int((hi - lo) * rng.random() ** 1.6)
        blocks = []
        size = 0
        while size < target:
            r = rng.random()
            if r < 0.55 or not blocks:
                b = self.paragraph(rng.randint(80, 400))
            elif r < 0.72:
                b = rng.choice(HEADINGS)
            elif r < 0.92:
                b = "\n".join(("- " if rng.random() < 0.8 else "1. ") + rng.choice(self.sentences)
                              for _ in range(rng.randint(2, 5)))
            else:
                b = "```\n" + "\n".join(
                    "$ bd " + " ".join(rng.choices(WORDS, k=rng.randint(1, 4)))
                    for _ in range(rng.randint(1, 4))) + "\n```"
            blocks.append(b)
            size += len(b) + 2
        text = "\n\n".join(blocks)
        while True:
            if len(text) > hi:
                cut = text.rfind(" ", lo, hi)
                text = text[:cut if cut > 0 else hi]
            text = text.rstrip()
            if len(text) >= lo:
                return text
            text += " " + rng.choice(self.sentences)

    def title(self) -> str:
        rng = self.rng
        while True:
            words = [rng.choice(TITLE_VERBS)]
            words += rng.choices(WORDS, k=rng.randint(3, 9))
            if rng.random() < 0.6:
                words.append(rng.choice(COMPONENTS))
            t = " ".join(words)
            if len(t) > 80:
                t = t[:t.rfind(" ", 0, 81)]
            t = t.strip()
            if 30 <= len(t) <= 80:
                return t


def weighted(rng: random.Random, table):
    values = [v for v, _ in table]
    cum = []
    acc = 0
    for _, w in table:
        acc += w
        cum.append(acc)
    total = acc

    def pick():
        return values[bisect.bisect_right(cum, rng.random() * total)]
    return pick


def comment_id(issue: str, author: str, created: str, text: str) -> int:
    h = hashlib.sha256("\x00".join((issue, author, created, text)).encode()).digest()
    return int.from_bytes(h[:8], "big") >> 12  # first 52 bits


def iter_issues(n: int, seed: int = 1, prefix: str = "bd", now_ns: int | None = None):
    """Yield n issue dicts (canonical key order) in creation order."""
    if now_ns is None:
        now_ns = parse_now(None)
    rng = FastRandom(seed)
    text = TextGen(rng)
    pick_status = weighted(rng, STATUS_WEIGHTS)
    pick_priority = weighted(rng, PRIORITY_WEIGHTS)
    pick_type = weighted(rng, TYPE_WEIGHTS)

    n_children = int(round(n * CHILD_FRACTION)) if n >= 20 else 0
    n_top = n - n_children
    width = id_length(n)
    space = 36 ** width

    # Top-level IDs: base36 of SHA-256 over (seed, index, nonce); next nonce on collision.
    seen: set[str] = set()
    top_ids = []
    for i in range(n_top):
        nonce = 0
        while True:
            h = hashlib.sha256(f"{seed}\x00{prefix}\x00{i}\x00{nonce}".encode()).digest()
            iid = f"{prefix}-{base36(int.from_bytes(h[:16], 'big') % space, width)}"
            if iid not in seen:
                break
            nonce += 1
        seen.add(iid)
        top_ids.append(iid)

    year_ago = now_ns - 365 * DAY
    span = now_ns - year_ago - 2 * DAY
    # Top-level creation times: spread over the year, increasing with the index
    # (with jitter), so "earlier" means a lower position.
    top_times = sorted(year_ago + int(span * (i + rng.random()) / n_top) for i in range(n_top))

    records = []  # (created_ns, id, parent_id or None)
    for iid, t in zip(top_ids, top_times):
        records.append([t, iid, None])

    # Children: pick parents and give each 1-6 children, created after the parent.
    parent_of_children: dict[str, int] = {}
    remaining = n_children
    while remaining > 0:
        p = rng.randrange(n_top)
        pid = top_ids[p]
        if pid in parent_of_children:
            continue
        k = min(remaining, rng.randint(1, 6))
        parent_of_children[pid] = k
        pt = top_times[p]
        for c in range(1, k + 1):
            ct = min(pt + rng.randint(MINUTE, 20 * DAY), now_ns - DAY)
            ct = max(ct, pt + c)
            records.append([ct, f"{pid}.{c}", pid])
        remaining -= k

    records.sort()
    position = {r[1]: i for i, r in enumerate(records)}
    created_of = {r[1]: r[0] for r in records}

    status_of = {}
    for pos, (created, iid, parent) in enumerate(records):
        status = pick_status()
        if parent is not None and status_of.get(parent) == "closed" and rng.random() < 0.95:
            status = "closed"
        status_of[iid] = status
        itype = pick_type()
        if iid in parent_of_children and itype not in ("epic", "feature"):
            itype = "epic" if rng.random() < 0.6 else "feature"
        creator = rng.choice(ACTORS)
        latest = created
        rec = {
            "id": iid,
            "title": text.title(),
            "description": text.markdown(40, 450),
        }
        if rng.random() < 0.10:
            rec["design"] = text.markdown(100, 600)
        if rng.random() < 0.08:
            rec["acceptance_criteria"] = "\n".join(
                "- [ ] " + rng.choice(text.sentences) for _ in range(rng.randint(2, 5)))
        if rng.random() < 0.20:
            rec["notes"] = text.paragraph(rng.randint(40, 250))
        rec["status"] = status
        rec["priority"] = pick_priority()
        rec["issue_type"] = itype

        started = closed = None
        assignee = None
        if status == "in_progress":
            assignee = rng.choice(ACTORS)
            started = min(created + rng.randint(MINUTE, 30 * DAY), now_ns - MINUTE)
        elif status == "closed" and rng.random() < 0.5:
            assignee = rng.choice(ACTORS)
            if rng.random() < 0.8:
                started = min(created + rng.randint(MINUTE, 10 * DAY), now_ns - 2 * MINUTE)
        if status == "closed":
            base = started if started is not None else created
            dur = int(MINUTE * (2.0 ** rng.uniform(0, 15)))  # minutes .. ~3 weeks
            closed = min(base + dur, now_ns - MINUTE)
            closed = max(closed, base + 1)
        if assignee is not None:
            rec["assignee"] = assignee
        if rng.random() < 0.15:
            rec["owner"] = rng.choice(OWNERS)
        if rng.random() < 0.15:
            rec["estimated_minutes"] = rng.choice(EST_MINUTES)
        rec["created_at"] = fmt_time(created)
        rec["created_by"] = creator
        rec["updated_at"] = None  # placeholder to keep the key order; filled below
        if started is not None:
            rec["started_at"] = fmt_time(started)
            latest = max(latest, started)
        if closed is not None:
            rec["closed_at"] = fmt_time(closed)
            latest = max(latest, closed)
            if rng.random() < 0.65:
                rec["close_reason"] = rng.choice(CLOSE_REASONS).format(
                    n=rng.randint(1, 999), h="%07x" % rng.getrandbits(28),
                    id=records[rng.randrange(len(records))][1])
        if rng.random() < 0.04:
            rec["due_at"] = fmt_time(created + rng.randint(7, 60) * DAY + rng.randrange(NS))
        if status == "deferred":
            rec["defer_until"] = fmt_time(now_ns + rng.randint(30, 365) * DAY
                                          + rng.randrange(DAY))
        if rng.random() < 0.05:
            rec["external_ref"] = rng.choice(("gh-%d", "JIRA-%d", "linear:ENG-%d")) % rng.randint(1, 9999)
        if rng.random() < 0.03:
            rec["metadata"] = {"source": rng.choice(("import", "mail", "agent")),
                               "sprint": rng.randint(1, 40)}
        if rng.random() < 0.30:
            rec["labels"] = sorted(rng.sample(LABELS, rng.randint(1, 3)))

        deps = []
        if parent is not None:
            dt = created
            deps.append({"issue_id": iid, "depends_on_id": parent, "type": "parent-child",
                         "created_at": fmt_time(dt), "created_by": creator})
        if pos > 0 and rng.random() < 0.35:
            targets = []  # a list, not a set: iteration order must not depend on hashing
            for _ in range(rng.randint(1, 3)):
                # Mostly recent issues, sometimes anything older.
                if rng.random() < 0.7:
                    j = pos - 1 - int(min(pos - 1, rng.expovariate(1 / 200)))
                else:
                    j = rng.randrange(pos)
                tid = records[j][1]
                if tid != parent and tid not in targets:
                    targets.append(tid)
            for tid in targets:
                dt = max(created, created_of[tid]) + rng.randint(0, 2 * DAY)
                dt = min(dt, now_ns - MINUTE)
                dt = max(dt, created)
                latest = max(latest, dt)
                deps.append({"issue_id": iid, "depends_on_id": tid, "type": "blocks",
                             "created_at": fmt_time(dt),
                             "created_by": rng.choice(ACTORS)})
        if deps:
            deps.sort(key=lambda d: (d["depends_on_id"], d["type"]))
            rec["dependencies"] = deps

        if rng.random() < 0.10:
            comments = []
            for _ in range(rng.randint(1, 4)):
                ct = created + rng.randint(MINUTE, 20 * DAY)
                ct = min(ct, now_ns - MINUTE)
                ct = max(ct, created)
                latest = max(latest, ct)
                author = rng.choice(ACTORS)
                body = text.paragraph(rng.randint(20, 300))
                cts = fmt_time(ct)
                comments.append({"id": comment_id(iid, author, cts, body), "issue_id": iid,
                                 "author": author, "text": body, "created_at": cts})
            comments.sort(key=lambda c: (c["created_at"], c["id"], c["text"]))
            rec["comments"] = comments

        if status == "tombstone":
            dt = min(latest + rng.randint(MINUTE, 60 * DAY), now_ns - MINUTE)
            dt = max(dt, latest + 1)
            latest = dt
            rec["deleted_at"] = fmt_time(dt)
            rec["deleted_by"] = rng.choice(ACTORS)
            rec["delete_reason"] = rng.choice(DELETE_REASONS).format(
                id=records[rng.randrange(len(records))][1])
            rec["original_type"] = itype

        updated = latest + rng.randint(0, HOUR)
        updated = max(min(updated, now_ns), latest)
        rec["updated_at"] = fmt_time(updated)
        yield rec


def generate_issues(n: int, seed: int = 1, prefix: str = "bd", now_ns: int | None = None):
    """Return the list of issue dicts, sorted by id."""
    return sorted(iter_issues(n, seed, prefix, now_ns), key=lambda r: r["id"])


def generate_jsonl(n: int, seed: int = 1, prefix: str = "bd", now_ns: int | None = None) -> bytes:
    """The issues.jsonl bytes: canonical lines sorted by id (records are serialized as
    they are made, so memory stays near the size of the output)."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    was_enabled = gc.isenabled()
    gc.disable()  # millions of small acyclic objects: the cyclic GC only costs time
    try:
        lines = [(rec["id"], dumps(rec).encode("utf-8"))
                 for rec in iter_issues(n, seed, prefix, now_ns)]
        lines.sort()
        return b"".join(line + b"\n" for _, line in lines)
    finally:
        if was_enabled:
            gc.enable()


def git(out: str, *args: str) -> None:
    env = dict(os.environ)
    for k in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(k, None)
    subprocess.run(["git", *args], cwd=out, check=True, env=env)


def make_repo(out: str, n: int, seed: int = 1, prefix: str = "bd",
              now_ns: int | None = None, force: bool = False, quiet: bool = False) -> dict:
    if os.path.exists(out):
        if force:
            shutil.rmtree(out)
        elif os.listdir(out):
            raise SystemExit(f"gen_tracker: {out} exists and is not empty (use --force)")
    os.makedirs(os.path.join(out, ".beads"), exist_ok=True)

    t0 = time.perf_counter()
    data = generate_jsonl(n, seed=seed, prefix=prefix, now_ns=now_ns)
    t2 = time.perf_counter()

    beads = os.path.join(out, ".beads")
    with open(os.path.join(beads, "issues.jsonl"), "wb") as f:
        f.write(data)
    with open(os.path.join(beads, "config.toml"), "w") as f:
        f.write(f'prefix = "{prefix}"\nauto_commit = "off"\n')
    with open(os.path.join(beads, ".gitignore"), "w") as f:
        f.write(".cache/\n.lock\n")
    with open(os.path.join(beads, ".gitattributes"), "w") as f:
        f.write("*.jsonl merge=beads eol=lf\nhooks/*.json merge=beads eol=lf\n"
                "attachments/** -text\n")

    git(out, "init", "-q", "-b", "main")
    git(out, "config", "user.name", "Bench")
    git(out, "config", "user.email", "bench@example.invalid")
    git(out, "config", "commit.gpgsign", "false")
    git(out, "config", "merge.beads.driver", "bd merge %O %A %B %P")
    git(out, "add", "-A")
    git(out, "commit", "-q", "--no-verify", "-m", "init")
    t3 = time.perf_counter()

    stats = {"issues": n, "bytes": len(data), "generate_s": t2 - t0,
             "git_s": t3 - t2, "total_s": t3 - t0}
    if not quiet:
        print(f"{out}: {n} issues, issues.jsonl {len(data):,} bytes "
              f"({len(data) / 1048576:.1f} MiB); generate {stats['generate_s']:.2f}s, "
              f"git {stats['git_s']:.2f}s, total {stats['total_s']:.2f}s")
    return stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--issues", type=int, required=True, help="number of issues")
    ap.add_argument("--out", required=True, help="directory to create (a new git repo)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prefix", default="bd")
    ap.add_argument("--now", default=None,
                    help="reference time (RFC3339 UTC or epoch seconds); "
                         "default: start of the current UTC day")
    ap.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = ap.parse_args(argv)
    if args.issues < 1:
        ap.error("--issues must be at least 1")
    make_repo(args.out, args.issues, seed=args.seed, prefix=args.prefix,
              now_ns=parse_now(args.now), force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
