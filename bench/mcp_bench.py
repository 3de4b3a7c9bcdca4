#!/usr/bin/env python3
"""Benchmark `bd mcp` at 10k issues: server start to its first answer, one
`ready` tool call through a running server, `claim` through the server
against the CLI's `bd claim`, and the bytes of `tools/list` (core, all).

    cargo build --release
    python3 bench/mcp_bench.py [--bd PATH] [--runs 21]

Uses the 10k tracker of bench/gen_tracker.py (made in a scratch folder), one
BD_HOME. Speaks JSON-RPC over the server's stdio. Python 3.11 standard
library only.
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


class Server:
    def __init__(self, bd: str, cwd: str, env: dict, *extra: str):
        self.t0 = time.perf_counter()
        self.p = subprocess.Popen([bd, "mcp", *extra], cwd=cwd, env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                  bufsize=1)
        self.next = 0
        init = self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                           "clientInfo": {"name": "bench", "version": "1"}})
        self.first_answer_ms = (time.perf_counter() - self.t0) * 1000
        assert "result" in init, init
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, msg: dict) -> None:
        self.p.stdin.write(json.dumps(msg) + "\n")
        self.p.stdin.flush()

    def request(self, method: str, params: dict) -> dict:
        self.next += 1
        self.send({"jsonrpc": "2.0", "id": self.next, "method": method, "params": params})
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("the server went away")
            msg = json.loads(line)
            if msg.get("id") == self.next:
                return msg

    def call(self, tool: str, args: dict) -> tuple[float, dict]:
        t = time.perf_counter()
        r = self.request("tools/call", {"name": tool, "arguments": args})
        return (time.perf_counter() - t) * 1000, r

    def close(self) -> None:
        self.p.stdin.close()
        self.p.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bd", default=os.path.join(REPO, "target", "release", "bd"))
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "strand-mcp-bench"))
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    ws = os.path.join(a.workdir, "a")
    subprocess.run([sys.executable, GEN, "--issues", "10000", "--out", ws], check=True,
                   stdout=subprocess.DEVNULL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BD_")}
    env["BD_HOME"] = os.path.join(a.workdir, "home")
    env["BD_ACTOR"] = "bench"
    subprocess.run([a.bd, "ready"], cwd=ws, env=env, capture_output=True, check=True)
    rows = [json.loads(l) for l in open(os.path.join(ws, ".beads", "issues.jsonl"), encoding="utf-8")]
    free = [r["id"] for r in rows if r["status"] == "open" and not r.get("assignee")
            and not r.get("dependencies") and r["issue_type"] in ("task", "bug", "feature", "chore")]

    starts = []
    for _ in range(a.runs):
        s = Server(a.bd, ws, env)
        starts.append(s.first_answer_ms)
        s.close()
    s = Server(a.bd, ws, env)
    core = s.request("tools/list", {})
    core_bytes = len(json.dumps(core["result"], separators=(",", ":")))
    ready = []
    for _ in range(a.runs):
        t, r = s.call("ready", {"limit": 10})
        assert not r["result"].get("isError"), r
        ready.append(t)
    mcp_claims = []
    for i in range(a.runs):
        t, r = s.call("claim", {"ids": [free[i]]})
        assert not r["result"].get("isError"), r
        mcp_claims.append(t)
    s.close()
    cli_claims = []
    for i in range(a.runs, 2 * a.runs):
        t = time.perf_counter()
        subprocess.run([a.bd, "claim", free[i]], cwd=ws, env=env, capture_output=True, check=True)
        cli_claims.append((time.perf_counter() - t) * 1000)
    s = Server(a.bd, ws, env, "--tools", "all")
    every = s.request("tools/list", {})
    all_bytes = len(json.dumps(every["result"], separators=(",", ":")))
    s.close()

    def row(name: str, xs: list[float], target: str) -> None:
        print(f"| {name} | {statistics.median(xs):.1f} | {min(xs):.1f} | {max(xs):.1f} | {target} |")

    print(f"10k issues, {a.runs} runs each; ms")
    print("| what | median | min | max | target |")
    print("|---|--:|--:|--:|---|")
    row("server start → initialize answered", starts, "≤ 20")
    row("`ready` tool call (running server)", ready, "≤ 5")
    row("`claim` tool call (running server)", mcp_claims, "≤ CLI claim")
    row("`bd claim` (CLI process)", cli_claims, "")
    print(f"\ntools/list: core {core_bytes} bytes ({len(core['result']['tools'])} tools), "
          f"all {all_bytes} bytes ({len(every['result']['tools'])} tools)")


if __name__ == "__main__":
    main()
