#!/usr/bin/env python3
"""Benchmark mail with 10k messages in mail.jsonl: `bd mail send` and
`bd mail inbox` (issue 5 targets: send <= 20 ms, inbox <= 15 ms).

    cargo build --release
    python3 bench/mail_bench.py [--bd PATH] [--messages 10000] [--runs 15]

Builds a repository with a small tracker and a mail.jsonl of N messages among
50 agents (bodies of 200-600 bytes, a third read, threads of up to 5), in
canonical form, then times the real binary. Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

KEY_ORDER = ["id", "thread", "in_reply_to", "from", "to", "cc", "subject", "body",
             "importance", "ack_required", "attachments", "issue", "issue_type",
             "delivery", "created_at", "read_by", "acked_by"]
B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(b: bytes) -> str:
    n = int.from_bytes(b, "big")
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = B36[r] + out
    return out or "0"


def line(m: dict) -> str:
    return json.dumps({k: m[k] for k in KEY_ORDER if k in m}, separators=(",", ":"),
                      ensure_ascii=False)


def gen(n: int, agents: list[str], rng: random.Random) -> list[str]:
    words = ("parser crash import export claim hook convoy merge index cache lock "
             "retry flaky test build release docs bug feature agent inbox").split()
    msgs = []
    t0 = 1_790_000_000
    for i in range(n):
        frm, to = rng.sample(agents, 2)
        subject = " ".join(rng.choices(words, k=rng.randint(3, 7)))
        body = " ".join(rng.choices(words, k=rng.randint(30, 90)))
        mid = "msg-" + base36(hashlib.sha256(f"{frm}{i}{subject}".encode()).digest())[:12]
        parent = msgs[rng.randrange(len(msgs))] if msgs and rng.random() < 0.3 else None
        m = {"id": mid, "thread": parent["thread"] if parent else mid, "from": frm, "to": [to],
             "subject": subject, "body": body, "importance": "normal", "ack_required": False,
             "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + i * 7))}
        if parent:
            m["in_reply_to"] = parent["id"]
        if rng.random() < 0.33:
            m["read_by"] = {to: m["created_at"]}
        msgs.append(m)
    msgs.sort(key=lambda m: m["id"])
    return [line(m) for m in msgs]


def timed(bd, cwd, env, *args):
    t = time.perf_counter()
    p = subprocess.run([bd, *args], cwd=cwd, env=env, capture_output=True, text=True)
    ms = (time.perf_counter() - t) * 1000
    if p.returncode != 0:
        raise SystemExit(f"bd {' '.join(args)} failed: {p.stderr}")
    return ms, p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bd", default=os.path.join(REPO, "target", "release", "bd"))
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "strand-mail-bench"))
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    ws = os.path.join(a.workdir, "repo")
    os.makedirs(ws)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BD_")}
    env["BD_HOME"] = os.path.join(a.workdir, "home")
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    # A repository as agents have them: a remote and a commit.
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=ws, check=True)
    subprocess.run(["git", "remote", "add", "origin", "https://example.com/bench/mail.git"],
                   cwd=ws, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.com", "commit",
                    "-q", "--allow-empty", "-m", "start"], cwd=ws, check=True)
    subprocess.run([a.bd, "init", "--prefix", "bd"], cwd=ws, env=env, check=True,
                   capture_output=True)
    rng = random.Random(7)
    agents = [f"agent{i:02}" for i in range(50)]
    for ag in agents:
        subprocess.run([a.bd, "agent", "register", ag], cwd=ws, env=env, check=True,
                       capture_output=True)
    lines = gen(a.messages, agents, rng)
    path = os.path.join(ws, ".beads", "mail.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    size = os.path.getsize(path)
    me = dict(env, BD_ACTOR="agent07")
    timed(a.bd, ws, me, "mail", "inbox")  # warm the page cache
    sends, inboxes, alls = [], [], []
    for i in range(a.runs):
        ms, _ = timed(a.bd, ws, me, "mail", "send", "--to", agents[(i % 49) + 1], "-s",
                      f"bench {i}", "-b", "a short body " * 20)
        sends.append(ms)
        ms, p = timed(a.bd, ws, me, "mail", "inbox")
        inboxes.append(ms)
        ms, _ = timed(a.bd, ws, me, "mail", "inbox", "--all")
        alls.append(ms)
    n_inbox = len(p.stdout.splitlines())

    def row(name, xs, target):
        return (f"| `{name}` | {statistics.median(xs):.1f} ms | {min(xs):.1f} | {max(xs):.1f} "
                f"| {target} |")
    print(f"mail.jsonl: {a.messages} messages, {size / 1e6:.1f} MB; agent07 has "
          f"{n_inbox} unread; {a.runs} runs each")
    print("| command | median | min | max | target |")
    print("|---|--:|--:|--:|---|")
    print(row("mail send", sends, "≤ 20 ms"))
    print(row("mail inbox", inboxes, "≤ 15 ms"))
    print(row("mail inbox --all", alls, "—"))


if __name__ == "__main__":
    main()
