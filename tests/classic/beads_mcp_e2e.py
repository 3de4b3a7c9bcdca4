#!/usr/bin/env python3
"""End-to-end: drive beads-mcp 1.3.2, unchanged, over stdio against a bd binary.

beads-mcp is the MCP server most agents use with classic beads: it runs
`bd <args> --json` and validates what bd prints with pydantic. This script
starts it with the official MCP Python SDK (`mcp.client.stdio`), calls every
tool it exposes (and reads its one resource), checks each result concretely,
and checks that every write really changed the tracker by running the bd
binary directly afterwards.

    python beads_mcp_e2e.py --bd BD --repo REPO --scratch DIR --seed SEED.json

It prints one line per call, `PASS name` or `FAIL name: reason` (the error
text the tool returned, or the check that failed, newlines as `\\n`), then a
summary, and exits 1 when anything failed. Run it with the python of a venv
holding beads-mcp (which pulls `mcp`).

The repository must be prepared (by tests/classic_mcp.rs) through bd with
this seed, whose IDs SEED.json gives:

    epic      type epic, open, label `payments`
    children  two children of the epic, open, both labelled `payments`;
              children[0] also `backend`, unassigned, holds one comment
              (comment.text by comment.author); children[1] is assigned to
              `assignee` and its title contains "Refund"
    blocker   open, priority 0, label `backend`, unassigned
    blocked   open, label `backend`, depends on blocker (`blocks`)
    closed    closed, label `spike`
    extra_show      [{id, title, status, issue_type}]: other issues show must report
    extra_comments  [{id, authors}]: other issues' comments, their authors in order

The repository may hold other issues (a migrated classic export) as long as
none carries the labels `payments`, `backend` or `spike`.

Environment: the server gets this process's environment plus BEADS_PATH (the
bd binary) and BEADS_ACTOR (`mcp-agent`); it is started in REPO with no
BEADS_WORKING_DIR, so its first bd call finds the workspace from its working
directory (by `.beads/metadata.json`), as when an editor starts it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import McpError

ACTOR = "mcp-agent"
CALL_TIMEOUT = 60.0
# Every tool beads-mcp 1.3.2 registers.
EXPECTED_TOOLS = {
    "discover_tools",
    "get_tool_info",
    "context",
    "ready",
    "list",
    "show",
    "create",
    "claim",
    "update",
    "close",
    "reopen",
    "dep",
    "comment",
    "comments",
    "note",
    "stats",
    "blocked",
    "admin",
}
ADMIN_ACTIONS = ["validate", "repair", "schema", "debug", "migration", "pollution"]


class Failed(Exception):
    """A check did not hold; the message says which."""


class ToolError(Exception):
    """The tool call itself returned an error; the message is its text."""


def expect(cond: bool, msg: str) -> None:
    if not cond:
        raise Failed(msg)


def one_line(text: str) -> str:
    return text.strip().replace("\r", "").replace("\n", "\\n")


def ids_of(items: Any) -> list[str]:
    expect(isinstance(items, list), f"expected a list of issues, got {short(items)}")
    out = []
    for i in items:
        expect(isinstance(i, dict) and "id" in i, f"expected an issue object, got {short(i)}")
        out.append(i["id"])
    return out


def short(v: Any, n: int = 300) -> str:
    s = v if isinstance(v, str) else json.dumps(v, default=str)
    return s if len(s) <= n else s[:n] + "..."


def dep_pairs(issue: dict[str, Any]) -> set[tuple[str, str]]:
    """(target, type) of an issue's dependencies as bd printed them: raw records
    (depends_on_id, type) or enriched ones (id, dependency_type)."""
    pairs = set()
    for d in issue.get("dependencies") or []:
        target = d.get("depends_on_id") or d.get("id")
        kind = d.get("type") or d.get("dependency_type")
        pairs.add((target, kind))
    return pairs


class Bd:
    """The bd binary run directly, to see what the tracker really holds."""

    def __init__(self, bd: str, repo: Path):
        self.bd = bd
        self.repo = repo

    def run(self, *args: str, cwd: Path | None = None) -> Any:
        p = subprocess.run(
            [self.bd, *args, "--json"],
            cwd=cwd or self.repo,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=CALL_TIMEOUT,
        )
        if p.returncode != 0:
            raise Failed(f"direct `bd {' '.join(args)} --json` failed ({p.returncode}): {p.stderr.strip()}")
        try:
            return json.loads(p.stdout)
        except json.JSONDecodeError as e:
            raise Failed(f"direct `bd {' '.join(args)} --json` printed no JSON ({e}): {short(p.stdout)}") from e

    def show(self, issue_id: str, cwd: Path | None = None) -> dict[str, Any]:
        v = self.run("show", issue_id, cwd=cwd)
        if isinstance(v, list):
            expect(len(v) == 1, f"direct bd show {issue_id}: {len(v)} issues")
            v = v[0]
        expect(isinstance(v, dict), f"direct bd show {issue_id}: {short(v)}")
        return v


class Harness:
    def __init__(self, session: ClientSession, bd: Bd, seed: dict[str, Any], repo: Path, scratch: Path):
        self.s = session
        self.bd = bd
        self.seed = seed
        self.repo = repo
        self.scratch = scratch
        self.results: list[tuple[str, bool, str]] = []
        self.tool_names: set[str] = set()

    async def call(self, tool: str, **args: Any) -> Any:
        res = await asyncio.wait_for(self.s.call_tool(tool, args), CALL_TIMEOUT)
        text = "\n".join(c.text for c in res.content if getattr(c, "type", "") == "text")
        if res.isError:
            raise ToolError(text or "(error with no text)")
        sc = res.structuredContent
        if sc is not None:
            # fastmcp wraps a result that is not an object as {"result": ...}.
            if isinstance(sc, dict) and set(sc) == {"result"}:
                return sc["result"]
            return sc
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    async def check(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        try:
            await body()
        except ToolError as e:
            self.record(name, False, str(e))
        except McpError as e:  # an error answer to a request (read_resource)
            self.record(name, False, e.error.message)
        except Failed as e:
            self.record(name, False, str(e))
        except asyncio.TimeoutError:
            self.record(name, False, f"no answer within {CALL_TIMEOUT:.0f}s")
        except Exception as e:  # a bug in this harness or the SDK: still one line
            self.record(name, False, f"harness exception {type(e).__name__}: {e}")
        else:
            self.record(name, True, "")

    def record(self, name: str, ok: bool, reason: str) -> None:
        self.results.append((name, ok, reason))
        line = f"PASS {name}" if ok else f"FAIL {name}: {one_line(reason)}"
        print(line, flush=True)

    # ---- reads -----------------------------------------------------------

    async def run_all(self) -> None:
        sd = self.seed
        epic, (c1, c2), blocker, blocked, closed = (
            sd["epic"],
            sd["children"],
            sd["blocker"],
            sd["blocked"],
            sd["closed"],
        )

        async def discover() -> None:
            v = await self.call("discover_tools")
            expect(isinstance(v, dict), f"not an object: {short(v)}")
            expect(set(v.get("tools", {})) == EXPECTED_TOOLS, f"catalog {sorted(v.get('tools', {}))}")
            expect(v.get("count") == len(EXPECTED_TOOLS), f"count {v.get('count')}")

        async def tool_info() -> None:
            v = await self.call("get_tool_info", tool_name="dep")
            expect(v.get("name") == "dep", f"name {v.get('name')}")
            expect("depends_on_id" in v.get("parameters", {}), f"parameters {short(v.get('parameters'))}")

        async def context_unset() -> None:
            v = await self.call("context")
            expect(isinstance(v, str) and "Context not set" in v, f"context before set: {short(v)}")

        async def ready_discovered() -> None:
            # No context yet: the server must find the workspace from its cwd.
            v = await self.call("ready", limit=100)
            got = set(ids_of(v))
            expect({blocker, c1} <= got, f"ready lacks {sorted({blocker, c1} - got)}: {sorted(got)}")
            expect(blocked not in got, f"blocked issue {blocked} is in ready")
            expect(closed not in got, f"closed issue {closed} is in ready")

        async def context_set() -> None:
            v = await self.call("context", action="set", workspace_root=str(self.repo))
            expect(isinstance(v, str), f"not text: {short(v)}")
            expect(f"Workspace root: {os.path.realpath(self.repo)}" in v, f"wrong root: {short(v)}")
            expect("Not found" not in v, f"no beads project found: {short(v)}")

        async def context_show() -> None:
            v = await self.call("context", action="show")
            expect(f"Workspace root: {os.path.realpath(self.repo)}" in v, short(v))
            expect(f"Actor: {ACTOR}" in v, short(v))

        await self.check("discover_tools", discover)
        await self.check("get_tool_info", tool_info)
        await self.check("context[show, unset]", context_unset)
        await self.check("ready[workspace from cwd]", ready_discovered)
        await self.check("context[set]", context_set)
        await self.check("context[show]", context_show)

        async def list_labels() -> None:
            v = await self.call("list", labels=["payments"], limit=50)
            items = v
            got = ids_of(items)
            expect(sorted(got) == sorted([epic, c1, c2]), f"ids {sorted(got)} != {sorted([epic, c1, c2])}")
            by = {i["id"]: i for i in items}
            expect(by[epic]["issue_type"] == "epic", f"epic type {by[epic]['issue_type']}")
            for i in items:
                expect("payments" in i.get("labels", []), f"{i['id']} labels {i.get('labels')}")
                expect(i["status"] == "open", f"{i['id']} status {i['status']}")
            expect(set(by[c1]["labels"]) == {"payments", "backend"}, f"{c1} labels {by[c1]['labels']}")

        async def list_closed() -> None:
            v = await self.call("list", status="closed", labels=["spike"])
            got = ids_of(v)
            expect(got == [closed], f"ids {got} != [{closed}]")
            expect(v[0]["status"] == "closed", f"status {v[0]['status']}")

        async def list_assignee_query() -> None:
            v = await self.call("list", assignee=sd["assignee"], query="Refund")
            got = ids_of(v)
            expect(got == [c2], f"ids {got} != [{c2}]")
            expect(v[0]["assignee"] == sd["assignee"], f"assignee {v[0]['assignee']}")

        async def list_unassigned_type() -> None:
            v = await self.call("list", labels_any=["backend", "spike"], unassigned=True, issue_type="task")
            got = set(ids_of(v))
            expect(got == {c1, blocker}, f"ids {sorted(got)} != {sorted({c1, blocker})}")

        async def list_default() -> None:
            # Every open issue through pydantic: the whole (classic) tracker.
            direct = self.bd.run("list", "--limit", "100")
            expect(isinstance(direct, list), f"direct bd list: {short(direct)}")
            v = await self.call("list", limit=100)
            if isinstance(v, dict) and v.get("compacted"):
                count = v.get("total_count")
            else:
                count = len(ids_of(v))
            expect(count == len(direct), f"{count} issues, bd list has {len(direct)}")

        await self.check("list[labels]", list_labels)
        await self.check("list[status, labels]", list_closed)
        await self.check("list[assignee, query]", list_assignee_query)
        await self.check("list[labels_any, unassigned, issue_type]", list_unassigned_type)
        await self.check("list[limit]", list_default)

        async def show_epic() -> None:
            v = await self.call("show", issue_id=epic)
            expect(v.get("id") == epic and v.get("issue_type") == "epic", short(v))
            kids = {d.get("id"): d.get("dependency_type") for d in v.get("dependents", [])}
            expect(
                kids.get(c1) == "parent-child" and kids.get(c2) == "parent-child",
                f"dependents {kids}, want {c1} and {c2} as parent-child",
            )
            expect(v.get("dependent_count", 0) >= 2, f"dependent_count {v.get('dependent_count')}")

        async def show_blocked() -> None:
            v = await self.call("show", issue_id=blocked)
            deps = {d.get("id"): d.get("dependency_type") for d in v.get("dependencies", [])}
            expect(deps == {blocker: "blocks"}, f"dependencies {deps}, want {{{blocker}: blocks}}")
            expect(v["dependencies"][0].get("status") == "open", f"blocker status {short(v['dependencies'][0])}")
            expect(v.get("labels") == ["backend"], f"labels {v.get('labels')}")

        async def show_brief_deps() -> None:
            v = await self.call("show", issue_id=c1, brief_deps=True)
            deps = {d.get("id"): d.get("dependency_type") for d in v.get("dependencies", [])}
            expect(deps.get(epic) == "parent-child", f"dependencies {deps}")

        await self.check("show[epic]", show_epic)
        await self.check("show[blocked]", show_blocked)
        await self.check("show[brief_deps]", show_brief_deps)
        for extra in sd.get("extra_show", []):

            async def show_extra(extra: dict[str, Any] = extra) -> None:
                v = await self.call("show", issue_id=extra["id"])
                for k in ("id", "title", "status", "issue_type"):
                    expect(v.get(k) == extra[k], f"{k} {short(v.get(k))} != {short(extra[k])}")

            await self.check(f"show[{extra['id']}]", show_extra)

        async def ready_filtered() -> None:
            v = await self.call("ready", labels=["backend"], unassigned=True, sort_policy="priority", limit=10)
            got = ids_of(v)
            expect(set(got) == {blocker, c1}, f"ids {got}, want {sorted({blocker, c1})}")
            expect(got[0] == blocker, f"priority order {got}: {blocker} (P0) first")

        async def blocked_tool() -> None:
            v = await self.call("blocked")
            by = {i["id"]: i for i in v}
            expect(blocked in by, f"{blocked} not in blocked: {sorted(by)}")
            expect(by[blocked].get("blocked_by") == [blocker], f"blocked_by {by[blocked].get('blocked_by')}")
            expect(by[blocked].get("blocked_by_count") == 1, f"blocked_by_count {by[blocked].get('blocked_by_count')}")
            for i in (blocker, c1, closed):
                expect(i not in by, f"{i} is not blocked but listed")

        async def stats() -> None:
            v = await self.call("stats")
            s = v.get("summary")
            expect(isinstance(s, dict), f"no summary: {short(v)}")
            every = self.bd.run("list", "--all", "--limit", "0")
            statuses = [i["status"] for i in every]
            want = {
                "total_issues": len(every),
                "open_issues": statuses.count("open"),
                "in_progress_issues": statuses.count("in_progress"),
                "closed_issues": statuses.count("closed"),
                "blocked_issues": len(self.bd.run("blocked")),
            }
            got = {k: s.get(k) for k in want}
            expect(got == want, f"summary {got}, bd says {want}")
            expect(s.get("ready_issues", 0) >= 2, f"ready_issues {s.get('ready_issues')}")

        async def comments_seed() -> None:
            v = await self.call("comments", issue_id=c1)
            expect(isinstance(v, list) and len(v) == 1, f"comments {short(v)}")
            c = v[0]
            expect(c.get("issue_id") == c1, f"issue_id {c.get('issue_id')}")
            expect(c.get("text") == sd["comment"]["text"], f"text {short(c.get('text'))}")
            expect(c.get("author") == sd["comment"]["author"], f"author {c.get('author')}")

        await self.check("ready[labels, unassigned, sort_policy]", ready_filtered)
        await self.check("blocked", blocked_tool)
        await self.check("stats", stats)
        await self.check("comments", comments_seed)
        for extra in sd.get("extra_comments", []):

            async def comments_extra(extra: dict[str, Any] = extra) -> None:
                v = await self.call("comments", issue_id=extra["id"])
                expect(isinstance(v, list), f"not a list: {short(v)}")
                authors = [c.get("author") for c in v]
                expect(authors == extra["authors"], f"authors {authors} != {extra['authors']}")

            await self.check(f"comments[{extra['id']}]", comments_extra)

        await self.writes(epic, c1, c2, blocker, blocked, closed)
        await self.admin()
        await self.resource()
        await self.new_project()

    # ---- writes, each checked through bd itself ---------------------------

    async def writes(self, epic: str, c1: str, c2: str, blocker: str, blocked: str, closed: str) -> None:
        async def create_full() -> None:
            v = await self.call(
                "create",
                title="Retry failed webhooks",
                description="Webhooks that fail are dropped; retry them with backoff.",
                design="Exponential backoff, 5 tries.",
                acceptance="A failed webhook is retried.",
                external_ref="gh-77",
                priority=1,
                issue_type="bug",
                labels=["mcp", "webhooks"],
                deps=[f"discovered-from:{c1}"],
                brief=False,
            )
            new = v.get("id")
            expect(isinstance(new, str) and new, f"no id: {short(v)}")
            expect(v.get("title") == "Retry failed webhooks", f"title {v.get('title')}")
            expect(v.get("priority") == 1 and v.get("issue_type") == "bug", short(v))
            d = self.bd.show(new)
            for k, want in [
                ("title", "Retry failed webhooks"),
                ("status", "open"),
                ("priority", 1),
                ("issue_type", "bug"),
                ("design", "Exponential backoff, 5 tries."),
                ("acceptance_criteria", "A failed webhook is retried."),
                ("external_ref", "gh-77"),
            ]:
                expect(d.get(k) == want, f"bd show {new}: {k} {short(d.get(k))} != {short(want)}")
            expect(set(d.get("labels") or []) == {"mcp", "webhooks"}, f"bd show {new}: labels {d.get('labels')}")
            expect((c1, "discovered-from") in dep_pairs(d), f"bd show {new}: dependencies {dep_pairs(d)}")

        async def create_brief() -> None:
            v = await self.call("create", title="Document the refund API", issue_type="task", priority=3)
            expect(v.get("action") == "created" and v.get("id"), f"result {short(v)}")
            d = self.bd.show(v["id"])
            expect(d.get("title") == "Document the refund API" and d.get("priority") == 3, short(d))

        async def update() -> None:
            v = await self.call(
                "update",
                issue_id=epic,
                status="in_progress",
                priority=0,
                assignee="bob",
                title="Payments epic (phase 2)",
                description="Second phase of payments.",
                design="Split charge and refund services.",
                acceptance_criteria="Charges and refunds both work.",
                notes="Kicked off by the MCP test.",
                external_ref="gh-42",
                brief=False,
            )
            expect(v.get("id") == epic and v.get("status") == "in_progress", f"result {short(v)}")
            d = self.bd.show(epic)
            for k, want in [
                ("status", "in_progress"),
                ("priority", 0),
                ("assignee", "bob"),
                ("title", "Payments epic (phase 2)"),
                ("description", "Second phase of payments."),
                ("design", "Split charge and refund services."),
                ("acceptance_criteria", "Charges and refunds both work."),
                ("notes", "Kicked off by the MCP test."),
                ("external_ref", "gh-42"),
            ]:
                expect(d.get(k) == want, f"bd show {epic}: {k} {short(d.get(k))} != {short(want)}")

        async def claim() -> None:
            v = await self.call("claim", issue_id=c1, brief=False)
            expect(v.get("id") == c1, f"result {short(v)}")
            expect(v.get("status") == "in_progress" and v.get("assignee") == ACTOR, f"result {short(v)}")
            d = self.bd.show(c1)
            expect(d.get("status") == "in_progress", f"bd show {c1}: status {d.get('status')}")
            expect(d.get("assignee") == ACTOR, f"bd show {c1}: assignee {d.get('assignee')}")

        async def dep() -> None:
            v = await self.call("dep", issue_id=c2, depends_on_id=blocker, dep_type="blocks")
            # beads-mcp turns a bd failure here into a string, not an error.
            expect(isinstance(v, str) and v.startswith("Added dependency"), f"{short(v, 2000)}")
            d = self.bd.show(c2)
            expect((blocker, "blocks") in dep_pairs(d), f"bd show {c2}: dependencies {dep_pairs(d)}")
            bl = [i["id"] for i in self.bd.run("blocked")]
            expect(c2 in bl, f"bd blocked lacks {c2}: {bl}")

        async def comment() -> None:
            text = "Refunds need the charge id; noted by the MCP test."
            v = await self.call("comment", issue_id=c2, text=text)
            expect(v == f"Added comment to {c2}", f"result {short(v)}")
            cs = self.bd.run("comments", c2)
            mine = [c for c in cs if c.get("text") == text]
            expect(len(mine) == 1, f"bd comments {c2}: {short(cs)}")
            expect(mine[0].get("author") == ACTOR, f"bd comments {c2}: author {mine[0].get('author')}")

        async def note() -> None:
            v = await self.call("note", issue_id=c2, text="Waiting on the schema migration.")
            expect(v == f"Appended note to {c2}", f"result {short(v)}")
            d = self.bd.show(c2)
            expect("Waiting on the schema migration." in (d.get("notes") or ""), f"bd show {c2}: notes {d.get('notes')!r}")

        async def close() -> None:
            v = await self.call("close", issue_id=blocker, reason="Migration shipped", brief=False)
            expect(ids_of(v) == [blocker], f"result {short(v)}")
            expect(v[0].get("status") == "closed", f"result status {v[0].get('status')}")
            d = self.bd.show(blocker)
            expect(d.get("status") == "closed", f"bd show {blocker}: status {d.get('status')}")
            expect(d.get("close_reason") == "Migration shipped", f"bd show {blocker}: close_reason {d.get('close_reason')}")
            bl = [i["id"] for i in self.bd.run("blocked")]
            expect(blocked not in bl, f"{blocked} still blocked after its blocker closed: {bl}")

        async def reopen() -> None:
            v = await self.call("reopen", issue_ids=[closed], reason="Spike needs a second look", brief=False)
            expect(ids_of(v) == [closed], f"result {short(v)}")
            expect(v[0].get("status") == "open", f"result status {v[0].get('status')}")
            d = self.bd.show(closed)
            expect(d.get("status") == "open", f"bd show {closed}: status {d.get('status')}")
            expect(not d.get("closed_at"), f"bd show {closed}: closed_at {d.get('closed_at')}")

        await self.check("create", create_full)
        await self.check("create[brief]", create_brief)
        await self.check("update", update)
        await self.check("claim", claim)
        await self.check("dep", dep)
        await self.check("comment", comment)
        await self.check("note", note)
        await self.check("close", close)
        await self.check("reopen", reopen)

    # ---- admin: classic database administration ---------------------------

    async def admin(self) -> None:
        for action in ADMIN_ACTIONS:

            async def run(action: str = action) -> None:
                v = await self.call("admin", action=action)
                if action == "debug":
                    expect(isinstance(v, str) and f"BEADS_PATH env var: {self.bd.bd}" in v, short(v))
                    return
                expect(isinstance(v, dict), f"not an object: {short(v)}")
                if action == "repair":
                    expect(isinstance(v.get("orphans_found"), int), f"no orphans_found: {short(v)}")

            await self.check(f"admin[{action}]", run)

    async def resource(self) -> None:
        async def quickstart() -> None:
            r = await asyncio.wait_for(self.s.read_resource("beads://quickstart"), CALL_TIMEOUT)
            text = "".join(getattr(c, "text", "") for c in r.contents)
            expect("bd" in text and len(text) > 200, f"quickstart text {short(text)}")

        await self.check("resource beads://quickstart", quickstart)

    # ---- context init in a new project, then per-call routing -------------

    async def new_project(self) -> None:
        proj = self.scratch / "new-project"
        proj.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(proj)], check=True)

        async def set_new() -> None:
            v = await self.call("context", action="set", workspace_root=str(proj))
            expect(f"Workspace root: {os.path.realpath(proj)}" in v and "Not found" in v, short(v))

        async def init() -> None:
            v = await self.call("context", action="init", prefix="scr")
            expect(isinstance(v, str), short(v))
            expect(self.bd.run("list", cwd=proj) == [], "bd list in the new project is not empty")
            # beads-mcp finds a project by .beads/metadata.json (or config.yaml, *.db).
            found = [f for f in ("metadata.json", "config.yaml") if (proj / ".beads" / f).is_file()]
            expect(found != [], "bd init left neither .beads/metadata.json nor .beads/config.yaml")

        async def routed_create() -> None:
            v = await self.call("create", title="First scratch task", workspace_root=str(proj))
            new = v.get("id", "")
            expect(new.startswith("scr-"), f"id {new!r} lacks the prefix scr-")
            expect(ids_of(self.bd.run("list", cwd=proj)) == [new], "bd list in the new project")
            title = self.bd.show(new, cwd=proj).get("title")
            expect(title == "First scratch task", f"bd show {new}: title {title!r}")

        await self.check("context[set, new project]", set_new)
        await self.check("context[init]", init)
        await self.check("create[workspace_root]", routed_create)


async def main_async(args: argparse.Namespace) -> int:
    repo = Path(args.repo).resolve()
    scratch = Path(args.scratch).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    seed = json.loads(Path(args.seed).read_text())
    env = dict(os.environ)
    env.pop("BEADS_WORKING_DIR", None)
    env.update({"BEADS_PATH": args.bd, "BEADS_ACTOR": ACTOR})
    params = StdioServerParameters(command=sys.executable, args=["-m", "beads_mcp"], env=env, cwd=str(repo))
    log_path = scratch / "beads-mcp.stderr.log"
    started = time.monotonic()
    with open(log_path, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                info = await asyncio.wait_for(session.initialize(), CALL_TIMEOUT)
                tools = await asyncio.wait_for(session.list_tools(), CALL_TIMEOUT)
                names = {t.name for t in tools.tools}
                h = Harness(session, Bd(args.bd, repo), seed, repo, scratch)
                h.tool_names = names
                h.record(
                    "initialize",
                    info.serverInfo.name == "Beads",
                    f"server {info.serverInfo.name} {info.serverInfo.version}",
                )
                h.record(
                    "list_tools",
                    names == EXPECTED_TOOLS,
                    f"tools {sorted(names)}, want {sorted(EXPECTED_TOOLS)}",
                )
                await h.run_all()
    failed = [r for r in h.results if not r[1]]
    called = {r[0].split("[")[0] for r in h.results}
    missing = EXPECTED_TOOLS - called
    if missing:
        print(f"FAIL coverage: tools never called {sorted(missing)}")
        failed.append(("coverage", False, ""))
    print(
        f"beads-mcp e2e: {len(h.results) - len(failed)} passed, {len(failed)} failed "
        f"in {time.monotonic() - started:.1f}s (server log: {log_path})"
    )
    return 1 if failed else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bd", required=True, help="the bd binary")
    p.add_argument("--repo", required=True, help="the prepared repository")
    p.add_argument("--scratch", required=True, help="a scratch folder (logs, a new project)")
    p.add_argument("--seed", required=True, help="the seed IDs (JSON)")
    return asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
