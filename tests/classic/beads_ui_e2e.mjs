#!/usr/bin/env node
// beads-ui 0.12.0, unchanged, driven over its WebSocket exactly as its page
// drives it, on a repository prepared by tests/classic_ui.rs with strand's bd.
//
//   node beads_ui_e2e.mjs --bd BD --repo DIR --seed SEED.json --scratch DIR
//                         [--modules DIR]   (default: node_modules beside this file)
//
// SEED.json names the prepared issues:
//   {epic, children: [c1, c2], blocker, blocked, closed, in_progress,
//    labels: {<id>: [...]}, comment: {id, text, author}, git_user,
//    extra_show: [{id, title, status, issue_type}], extra_comments: [{id, authors}]}
//
// beads-ui finds `bd` on PATH: the server runs with DIR/bin first on PATH,
// where `bd` is a shim that runs BD and appends each call (argv, BEADS_DB,
// exit code, stderr) to SCRATCH/bd-calls.log. The server's own debug log is
// SCRATCH/beads-ui.log. Every check prints one line, "ok   …" or "FAIL …";
// the last line is "N passed, M failed"; the exit code is 1 when one failed.
// The protocol, the argv each request maps to and what the page reads are in
// BEADS_UI.md beside this file.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const out = { modules: path.join(here, 'node_modules') };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (!k.startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`bad argument ${k}`);
    }
    out[k.slice(2)] = argv[++i];
  }
  for (const k of ['bd', 'repo', 'seed', 'scratch']) {
    if (!out[k]) throw new Error(`--${k} is required`);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const REPO = fs.realpathSync(args.repo);
const SCRATCH = path.resolve(args.scratch);
const BD = path.resolve(args.bd);
const SEED = JSON.parse(fs.readFileSync(args.seed, 'utf8'));
const UI_DIR = path.join(args.modules, 'beads-ui');
const requireFromModules = createRequire(path.join(args.modules, 'noop.js'));
const WebSocket = requireFromModules('ws');
const protocol = await import(
  pathToFileURL(path.join(UI_DIR, 'app', 'protocol.js')).href
);

// ---------------------------------------------------------------- checks

let passed = 0;
const failures = [];

function ok(name, detail = '') {
  passed++;
  console.log(`ok   ${name}${detail ? ` (${detail})` : ''}`);
}

function fail(name, message) {
  failures.push(name);
  console.log(`FAIL ${name}: ${message}`);
}

class CheckError extends Error {}

function expect(cond, message) {
  if (!cond) throw new CheckError(message);
}

function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  expect(a === e, `${what}: expected ${e}, got ${a}`);
}

async function check(name, fn) {
  try {
    const detail = await fn();
    ok(name, typeof detail === 'string' ? detail : '');
    return true;
  } catch (err) {
    fail(name, err instanceof CheckError ? err.message : err?.stack || String(err));
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const short = (v, n = 300) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s && s.length > n ? `${s.slice(0, n)}…` : s;
};

// ---------------------------------------------------------------- bd

const BIN = path.join(SCRATCH, 'bin');
const CALLS = path.join(SCRATCH, 'bd-calls.log');
fs.mkdirSync(BIN, { recursive: true });
// The shim keeps bd's stdout, stderr and exit code as they are; it only
// records the call for the report.
fs.writeFileSync(
  path.join(BIN, 'bd'),
  `#!/bin/bash
out=$(mktemp) err=$(mktemp)
${JSON.stringify(BD)} "$@" >"$out" 2>"$err"
code=$?
{
  printf 'bd'; printf ' %q' "$@"; printf '\\n'
  printf '    cwd=%s BEADS_DB=%s exit=%d\\n' "$PWD" "\${BEADS_DB-}" "$code"
  if [ "$code" -ne 0 ]; then sed 's/^/    stderr: /' "$err" | head -n 8; fi
} >> ${JSON.stringify(CALLS)}
cat "$out"; cat "$err" >&2; rm -f "$out" "$err"
exit $code
`,
  { mode: 0o755 }
);
const ENV = { ...process.env, PATH: `${BIN}:${process.env.PATH || ''}` };

/** `bd ARGS` as a separate process in the repository (not through beads-ui). */
function bd(argv) {
  const r = spawnSync(BD, argv, { cwd: REPO, env: process.env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function bdJson(argv) {
  const r = bd(argv);
  if (r.code !== 0) {
    throw new CheckError(`bd ${argv.join(' ')} exited ${r.code}: ${short(r.stderr || r.stdout)}`);
  }
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new CheckError(`bd ${argv.join(' ')} printed no JSON: ${short(r.stdout)}`);
  }
}

function bdShow(id) {
  const v = bdJson(['show', id, '--json']);
  return Array.isArray(v) ? v[0] : v;
}

// ---------------------------------------------------------------- server

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const PORT = await freePort();
const BASE = `http://127.0.0.1:${PORT}`;
const serverLog = fs.openSync(path.join(SCRATCH, 'beads-ui.log'), 'w');
const server = spawn(
  process.execPath,
  [path.join(UI_DIR, 'server', 'index.js'), '--debug', '--port', String(PORT)],
  { cwd: REPO, env: ENV, stdio: ['ignore', serverLog, serverLog] }
);
let serverExit = null;
server.on('exit', (code, signal) => {
  serverExit = { code, signal };
});

async function stop(code) {
  try {
    client?.close();
  } catch {
    // closing anyway
  }
  if (serverExit === null) {
    server.kill('SIGTERM');
    await Promise.race([new Promise((r) => server.once('exit', r)), sleep(3000)]);
    if (serverExit === null) server.kill('SIGKILL');
  }
  console.log(`${passed} passed, ${failures.length} failed`);
  if (failures.length > 0) {
    console.log(`failed checks: ${failures.join('; ')}`);
    console.log(`bd calls: ${CALLS}; server log: ${path.join(SCRATCH, 'beads-ui.log')}`);
  }
  process.exit(code ?? (failures.length > 0 ? 1 : 0));
}

// A hard stop: nothing here may hang the Rust test.
setTimeout(() => {
  fail('the whole run finishes within 240 s', 'timed out');
  void stop(1);
}, 240_000).unref();

// ---------------------------------------------------------------- client

/**
 * The page's side of the socket: requests correlated by id, and per
 * subscription the issues the pushes describe (as app/data/subscription-
 * issue-store.js keeps them).
 */
class Client {
  constructor(url) {
    this.url = url;
    this.pending = new Map();
    this.stores = new Map();
    this.pushes = [];
    this.waiters = new Set();
    this.subscribed = new Set();
    this.last_push_at = 0;
  }

  /**
   * Wait until no push has come for `quiet_ms` (at most `max_ms`): the
   * server's refresh after the previous mutation is over. beads-ui drops the
   * refresh of a mutation made while an earlier one's refresh still runs
   * (server/ws.js triggerMutationRefreshOnce); a person clicks slower.
   */
  async settle(quiet_ms = 600, max_ms = 5000) {
    const t0 = Date.now();
    while (Date.now() - this.last_push_at < quiet_ms && Date.now() - t0 < max_ms) {
      await sleep(100);
    }
  }

  open() {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(this.url);
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.on('message', (data) => this.onMessage(JSON.parse(String(data))));
    });
  }

  close() {
    this.ws?.close();
  }

  onMessage(msg) {
    if (msg.type === 'snapshot' || msg.type === 'upsert' || msg.type === 'delete') {
      const p = msg.payload || {};
      const store = this.stores.get(p.id) || new Map();
      this.stores.set(p.id, store);
      if (p.type === 'snapshot') {
        store.clear();
        for (const it of p.issues || []) store.set(it.id, it);
      } else if (p.type === 'upsert') {
        store.set(p.issue.id, p.issue);
      } else if (p.type === 'delete') {
        store.delete(p.issue_id);
      }
      this.pushes.push(p);
      this.last_push_at = Date.now();
      for (const w of [...this.waiters]) w();
      return;
    }
    const waiter = this.pending.get(msg.id);
    if (waiter) {
      this.pending.delete(msg.id);
      waiter(msg);
    }
  }

  /** Send a request; the reply envelope (ok or not). */
  request(type, payload, timeout_ms = 20_000) {
    const req = protocol.makeRequest(type, payload);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(req.id);
        reject(new CheckError(`no reply to ${type} within ${timeout_ms} ms`));
      }, timeout_ms);
      this.pending.set(req.id, (msg) => {
        clearTimeout(t);
        resolve(msg);
      });
      this.ws.send(JSON.stringify(req));
    });
  }

  /** The reply's payload; a failed reply throws with bd's message. */
  async send(type, payload, argv) {
    if (MUTATIONS.has(type)) await this.settle();
    const reply = await this.request(type, payload);
    if (!reply.ok) {
      throw new CheckError(
        `${type} failed: ${reply.error?.code}: ${short(reply.error?.message)}` +
          (argv ? ` [beads-ui ran: bd --sandbox ${argv}]` : '')
      );
    }
    return reply.payload;
  }

  /** Subscribe as the page does; the issues of the first snapshot. */
  async subscribe(client_id, type, params, argv) {
    await this.send('subscribe-list', { id: client_id, type, params }, argv);
    this.subscribed.add(client_id);
    return this.items(client_id);
  }

  /** A push can reach `client_id` only if its subscription was made. */
  need(client_id) {
    expect(this.subscribed.has(client_id), `no ${client_id} subscription: subscribing failed above`);
  }

  items(client_id) {
    return [...(this.stores.get(client_id) || new Map()).values()];
  }

  item(client_id, id) {
    return (this.stores.get(client_id) || new Map()).get(id);
  }

  /** Wait until `pred()` holds, re-tested at every push. */
  async until(pred, timeout_ms, what) {
    if (pred()) return;
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.delete(w);
        reject(new CheckError(`${what}: no such push within ${timeout_ms} ms`));
      }, timeout_ms);
      const w = () => {
        if (pred()) {
          clearTimeout(t);
          this.waiters.delete(w);
          resolve();
        }
      };
      this.waiters.add(w);
    });
  }
}

const MUTATIONS = new Set([
  'create-issue', 'update-status', 'update-priority', 'edit-text', 'update-assignee',
  'label-add', 'label-remove', 'add-comment', 'dep-add', 'dep-remove', 'delete-issue'
]);

// The argv beads-ui runs for each subscription (server/list-adapters.js).
const ARGV = {
  'all-issues': 'list --json --tree=false',
  epics: 'epic status --json',
  'blocked-issues': 'blocked --json',
  'ready-issues': 'ready --limit 1000 --json',
  'in-progress-issues': 'list --json --tree=false --status in_progress',
  'closed-issues': 'list --json --tree=false --status closed --limit 1000',
  'issue-detail': (id) => `show ${id} --json`
};

const ids = (items) => items.map((it) => it.id);

function mustFind(items, id, where) {
  const it = items.find((x) => x.id === id);
  expect(it, `${id} missing from ${where} (got ${short(ids(items))})`);
  return it;
}

/** A `show` JSON as the page takes it: it replaces its issue with the reply. */
function detailObject(reply, what) {
  expect(
    reply && typeof reply === 'object' && !Array.isArray(reply),
    `${what}: the page replaces its issue with the reply, which must be one object; got ${short(reply)}`
  );
  return reply;
}

// ---------------------------------------------------------------- run

const S = SEED;
const [C1, C2] = S.children;
const OPEN_SEED = [S.epic, C1, C2, S.blocker, S.blocked, S.in_progress];
let client = null;

// --- server and page
const up = await check('beads-ui server answers /healthz', async () => {
  for (let i = 0; i < 100; i++) {
    if (serverExit) throw new CheckError(`server exited ${JSON.stringify(serverExit)}`);
    try {
      const r = await fetch(`${BASE}/healthz`);
      if (r.ok) {
        eq(await r.json(), { ok: true }, '/healthz');
        return `port ${PORT}`;
      }
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new CheckError('not listening after 10 s');
});
if (!up) await stop(1);

await check('the page and its bundle are served', async () => {
  const index = await fetch(`${BASE}/`);
  expect(index.ok, `GET / → ${index.status}`);
  expect((await index.text()).includes('<title>Beads</title>'), 'GET / is not the page');
  const bundle = await fetch(`${BASE}/main.bundle.js`);
  expect(bundle.ok, `GET /main.bundle.js → ${bundle.status}`);
});

client = new Client(`ws://127.0.0.1:${PORT}/ws`);
const connected = await check('WebSocket /ws connects and answers ping', async () => {
  await client.open();
  const pong = await client.send('ping', {});
  expect(typeof pong?.ts === 'number', `ping → ${short(pong)}`);
});
if (!connected) await stop(1);

await check('get-workspace is the repository', async () => {
  const w = await client.send('get-workspace', {});
  eq(w.root_dir, REPO, 'root_dir');
  const dbs = fs
    .readdirSync(path.join(REPO, '.beads'))
    .filter((n) => n.endsWith('.db'))
    .sort();
  const expected = dbs.length > 0 ? path.join(REPO, '.beads', dbs[0]) : path.join(REPO, '.beads');
  eq(w.db_path, expected, 'db_path (what beads-ui watches for live refresh)');
  const list = await client.send('list-workspaces', {});
  expect(
    list.workspaces.some((x) => x.path === REPO),
    `list-workspaces lacks the repository: ${short(list.workspaces)}`
  );
  return `watches ${path.relative(REPO, expected)}`;
});

// --- reads: the subscriptions the page makes
let all = [];
const allOk = await check(`all-issues (bd ${ARGV['all-issues']}): the open issues`, async () => {
  all = await client.subscribe('tab:issues', 'all-issues', undefined, ARGV['all-issues']);
  for (const id of OPEN_SEED) mustFind(all, id, 'all-issues');
  eq(mustFind(all, S.epic, 'all-issues').title, 'Payments epic', 'epic title');
  eq(mustFind(all, S.blocker, 'all-issues').priority, 0, 'blocker priority');
  eq(mustFind(all, S.blocked, 'all-issues').issue_type, 'feature', 'blocked issue_type');
  eq(mustFind(all, S.in_progress, 'all-issues').status, 'in_progress', 'in_progress status');
  eq(mustFind(all, C2, 'all-issues').assignee, S.assignee, 'assignee');
  return `${all.length} issues`;
});

if (allOk) {
  await check('all-issues leaves closed issues out (classic `bd list` default)', async () => {
    const closed = all.filter((it) => it.status === 'closed' || it.status === 'tombstone');
    eq(ids(closed), [], 'closed or deleted issues in all-issues');
  });
  await check('all-issues rows carry dependency_count / dependent_count (the arrows column)', async () => {
    eq(mustFind(all, S.blocked, 'all-issues').dependency_count, 1, `${S.blocked} dependency_count`);
    eq(mustFind(all, S.blocker, 'all-issues').dependent_count, 1, `${S.blocker} dependent_count`);
    eq(mustFind(all, S.epic, 'all-issues').dependent_count, 2, `${S.epic} dependent_count`);
  });
  await check('every issue has parseable created_at and updated_at (the refresh diff needs them)', async () => {
    const bad = all.filter((it) => !(it.created_at > 0 && it.updated_at > 0));
    eq(ids(bad), [], 'issues whose timestamps beads-ui cannot parse');
  });
}

await check(`epics (bd ${ARGV.epics}): the epic with its progress`, async () => {
  const epics = await client.subscribe('tab:epics', 'epics', undefined, ARGV.epics);
  const e = mustFind(epics, S.epic, 'epics');
  eq(e.title, 'Payments epic', 'title');
  eq(e.status, 'open', 'status');
  eq(e.issue_type, 'epic', 'issue_type');
  eq([e.total_children, e.closed_children, e.eligible_for_close], [2, 0, false], '[total_children, closed_children, eligible_for_close]');
  expect(e.created_at > 0 && e.updated_at > 0, `epic timestamps ${short(e)}`);
  const notEpics = epics.filter((x) => OPEN_SEED.includes(x.id) && x.id !== S.epic);
  eq(ids(notEpics), [], 'non-epics listed as epics');
  return `${epics.length} epics`;
});

await check(`board Blocked (bd ${ARGV['blocked-issues']})`, async () => {
  const items = await client.subscribe('tab:board:blocked', 'blocked-issues', undefined, ARGV['blocked-issues']);
  const b = mustFind(items, S.blocked, 'blocked-issues');
  eq(b.title, 'Wire the payments API', 'title');
  for (const id of [S.blocker, S.closed, C1]) {
    expect(!ids(items).includes(id), `${id} is listed as blocked`);
  }
});

await check(`board Ready (bd ${ARGV['ready-issues']})`, async () => {
  const items = await client.subscribe('tab:board:ready', 'ready-issues', undefined, ARGV['ready-issues']);
  for (const id of [S.blocker, C1, C2]) mustFind(items, id, 'ready-issues');
  for (const id of [S.blocked, S.closed]) {
    expect(!ids(items).includes(id), `${id} is listed as ready`);
  }
});

await check(`board In progress (bd ${ARGV['in-progress-issues']})`, async () => {
  const items = await client.subscribe('tab:board:in-progress', 'in-progress-issues', undefined, ARGV['in-progress-issues']);
  mustFind(items, S.in_progress, 'in-progress-issues');
  const others = items.filter((it) => it.status !== 'in_progress');
  eq(ids(others), [], 'issues not in_progress');
});

await check(`board Closed (bd ${ARGV['closed-issues']})`, async () => {
  const items = await client.subscribe('tab:board:closed', 'closed-issues', undefined, ARGV['closed-issues']);
  const z = mustFind(items, S.closed, 'closed-issues');
  expect(z.closed_at > 0, `closed_at not parseable: ${short(z)}`);
  const open = items.filter((it) => it.status !== 'closed');
  eq(ids(open), [], 'issues not closed');
  return `${items.length} closed`;
});

/** Subscribe to one issue's detail as the page does; the issue. */
async function detail(id, client_id = `detail:${id}`) {
  const items = await client.subscribe(client_id, 'issue-detail', { id }, ARGV['issue-detail'](id));
  eq(ids(items), [id], `issue-detail ${id} ids`);
  return items[0];
}

function depIds(list) {
  return (Array.isArray(list) ? list : []).map((d) => d.id).sort();
}

await check(`issue-detail of the epic (bd show --json): children as dependents`, async () => {
  const e = await detail(S.epic);
  eq(depIds(e.dependents), [C1, C2].sort(), 'dependents (the epic tab lists them as its children)');
  const c = e.dependents.find((d) => d.id === C1);
  eq([c.title, c.status, c.issue_type, c.priority], ['Charge the card', 'open', 'task', 1], 'child fields');
});

await check('issue-detail: the blocks edge on both panels (Dependencies / Dependents)', async () => {
  const x = await detail(S.blocked);
  expect(depIds(x.dependencies).includes(S.blocker), `${S.blocked} dependencies ${short(x.dependencies)}`);
  const d = x.dependencies.find((it) => it.id === S.blocker);
  eq([d.title, d.status, d.issue_type, d.priority], ['Schema migration', 'open', 'task', 0], 'dependency fields');
  const b = await detail(S.blocker);
  expect(depIds(b.dependents).includes(S.blocked), `${S.blocker} dependents ${short(b.dependents)}`);
});

await check('issue-detail: labels, parent edge, description panel fields', async () => {
  const c = await detail(C1);
  eq([...(c.labels || [])].sort(), [...S.labels[C1]].sort(), 'labels');
  expect(depIds(c.dependencies).includes(S.epic), `${C1} dependencies ${short(c.dependencies)}`);
  eq([c.title, c.status, c.priority, c.issue_type], ['Charge the card', 'open', 1, 'task'], 'fields');
});

await check('get-comments (bd comments ID --json)', async () => {
  const comments = await client.send('get-comments', { id: S.comment.id }, `comments ${S.comment.id} --json`);
  expect(Array.isArray(comments), `not an array: ${short(comments)}`);
  const c = comments.find((x) => x.text === S.comment.text);
  expect(c, `seed comment missing: ${short(comments)}`);
  eq(c.author, S.comment.author, 'author');
  expect(Number.isFinite(Date.parse(c.created_at)), `created_at ${c.created_at}`);
});

for (const x of S.extra_show || []) {
  await check(`issue-detail of classic ${x.id} (${x.status} ${x.issue_type})`, async () => {
    const it = await detail(x.id);
    eq([it.title, it.status, it.issue_type], [x.title, x.status, x.issue_type], 'fields');
  });
}
for (const x of S.extra_comments || []) {
  await check(`get-comments of classic ${x.id}`, async () => {
    const comments = await client.send('get-comments', { id: x.id }, `comments ${x.id} --json`);
    eq(comments.map((c) => c.author), x.authors, 'authors');
  });
}

// --- mutations, each checked in the reply, through `bd show`, and by push
// The detail panel's subscription stays open, as on the page.
await client.subscribe(`detail:${C1}`, 'issue-detail', { id: C1 }).catch(() => {});

let created = null;
const CREATED_TITLE = 'Created from the UI';
await check('create-issue (bd create TITLE -t bug -p 1 -d TEXT)', async () => {
  const r = await client.send(
    'create-issue',
    { title: CREATED_TITLE, type: 'bug', priority: 1, description: 'Made by beads-ui.' },
    `create "${CREATED_TITLE}" -t bug -p 1 -d "Made by beads-ui."`
  );
  eq(r, { created: true }, 'reply');
  const found = bdJson(['list', '--json']).filter((it) => it.title === CREATED_TITLE);
  eq(found.length, 1, 'issues with that title in bd list');
  created = found[0].id;
  const shown = bdShow(created);
  eq([shown.issue_type, shown.priority, shown.description, shown.status], ['bug', 1, 'Made by beads-ui.', 'open'], `bd show ${created}`);
  return created;
});
await check('create-issue: the new issue reaches all-issues by push', async () => {
  client.need('tab:issues');
  await client.until(() => client.items('tab:issues').some((it) => it.title === CREATED_TITLE), 10_000, 'upsert of the new issue');
});

const edits = [
  ['title', 'Charge the card twice', 'title'],
  ['description', 'Use *idempotency* keys.', 'description'],
  ['acceptance', 'A retried charge is billed once.', 'acceptance_criteria'],
  ['notes', 'Talk to the PSP.', 'notes'],
  ['design', 'Keys live in Redis.', 'design']
];
for (const [field, value, key] of edits) {
  const flag = { title: '--title', description: '--description', acceptance: '--acceptance-criteria', notes: '--notes', design: '--design' }[field];
  await check(`edit-text ${field} (bd update ID ${flag} V; bd show ID --json)`, async () => {
    const r = detailObject(await client.send('edit-text', { id: C1, field, value }, `update ${C1} ${flag} …`), 'edit-text');
    eq(r[key], value, `reply ${key}`);
    eq(bdShow(C1)[key], value, `bd show ${key}`);
  });
}

await check('update-priority (bd update ID --priority 3)', async () => {
  const r = detailObject(await client.send('update-priority', { id: C1, priority: 3 }, `update ${C1} --priority 3`), 'update-priority');
  eq(r.priority, 3, 'reply priority');
  eq(bdShow(C1).priority, 3, 'bd show priority');
});

await check('update-status in_progress (bd update ID --status in_progress): reply, bd show, detail and Ready pushes', async () => {
  const r = detailObject(await client.send('update-status', { id: C1, status: 'in_progress' }, `update ${C1} --status in_progress`), 'update-status');
  eq(r.status, 'in_progress', 'reply status');
  eq(bdShow(C1).status, 'in_progress', 'bd show status');
  await client.until(() => client.item(`detail:${C1}`, C1)?.status === 'in_progress', 10_000, `detail:${C1} upsert`);
  await client.until(() => !client.item('tab:board:ready', C1), 10_000, `${C1} deleted from ready-issues`);
});
await check('update-status in_progress: pushed into the board In progress column', async () => {
  client.need('tab:board:in-progress');
  await client.until(() => client.item('tab:board:in-progress', C1), 10_000, `${C1} upserted into in-progress-issues`);
});

await check('update-assignee set and clear (bd update ID --assignee bob / "")', async () => {
  const r = detailObject(await client.send('update-assignee', { id: C1, assignee: 'bob' }, `update ${C1} --assignee bob`), 'update-assignee');
  eq(r.assignee, 'bob', 'reply assignee');
  eq(bdShow(C1).assignee, 'bob', 'bd show assignee');
  const r2 = detailObject(await client.send('update-assignee', { id: C1, assignee: '' }, `update ${C1} --assignee ""`), 'update-assignee ""');
  expect(!r2.assignee, `reply assignee after clearing: ${short(r2.assignee)}`);
  expect(!bdShow(C1).assignee, 'bd show still has an assignee');
});

await check('label-add / label-remove (bd label add|remove ID LABEL)', async () => {
  const r = detailObject(await client.send('label-add', { id: C1, label: 'ui' }, `label add ${C1} ui`), 'label-add');
  expect((r.labels || []).includes('ui'), `reply labels ${short(r.labels)}`);
  const r2 = detailObject(await client.send('label-remove', { id: C1, label: 'backend' }, `label remove ${C1} backend`), 'label-remove');
  eq([...(r2.labels || [])].sort(), ['payments', 'ui'], 'reply labels');
  eq([...(bdShow(C1).labels || [])].sort(), ['payments', 'ui'], 'bd show labels');
});

await check('add-comment (bd comment ID TEXT --author <git user.name>; bd comments ID --json)', async () => {
  const text = 'Comment from the UI';
  const list = await client.send('add-comment', { id: C1, text }, `comment ${C1} "${text}" --author ${S.git_user}`);
  expect(Array.isArray(list), `reply not an array: ${short(list)}`);
  const c = list.find((x) => x.text === text);
  expect(c, `reply lacks the comment: ${short(list)}`);
  eq(c.author, S.git_user, 'author (git config user.name)');
  const fromBd = bdJson(['comments', C1, '--json']);
  eq(fromBd.filter((x) => x.text === text).map((x) => x.author), [S.git_user], 'bd comments');
});

await check('dep-add from the Dependencies panel (bd dep add A B) blocks A, by push too', async () => {
  const r = detailObject(await client.send('dep-add', { a: C2, b: S.blocker, view_id: C2 }, `dep add ${C2} ${S.blocker}`), 'dep-add');
  expect(depIds(r.dependencies).includes(S.blocker), `reply dependencies ${short(r.dependencies)}`);
  expect(depIds(bdShow(C2).dependencies).includes(S.blocker), 'bd show dependencies');
  await client.until(() => client.item('tab:board:blocked', C2), 10_000, `${C2} upserted into blocked-issues`);
});

await check('dep-remove from the Dependents panel (bd dep remove A B, view_id = B)', async () => {
  const r = detailObject(await client.send('dep-remove', { a: C2, b: S.blocker, view_id: S.blocker }, `dep remove ${C2} ${S.blocker}`), 'dep-remove');
  eq(r.id, S.blocker, 'reply is the viewed issue');
  expect(!depIds(r.dependents).includes(C2), `reply dependents ${short(r.dependents)}`);
  expect(!depIds(bdShow(C2).dependencies).includes(S.blocker), 'bd show still has the edge');
  await client.until(() => !client.item('tab:board:blocked', C2), 10_000, `${C2} deleted from blocked-issues`);
});

await check('update-status closed (bd update ID --status closed)', async () => {
  const r = detailObject(await client.send('update-status', { id: C2, status: 'closed' }, `update ${C2} --status closed`), 'update-status closed');
  eq(r.status, 'closed', 'reply status');
  const shown = bdShow(C2);
  eq(shown.status, 'closed', 'bd show status');
  expect(shown.closed_at, 'bd show has no closed_at');
  await client.until(() => !client.item('tab:board:ready', C2), 10_000, `${C2} deleted from ready-issues`);
});
await check('update-status closed: pushed into the board Closed column', async () => {
  client.need('tab:board:closed');
  await client.until(() => client.item('tab:board:closed', C2), 10_000, `${C2} upserted into closed-issues`);
});
await check('epic progress after closing a child: 1/2 (a new epics subscription, as the page makes)', async () => {
  const epics = await client.subscribe('tab:epics:again', 'epics', undefined, ARGV.epics);
  await client.send('unsubscribe-list', { id: 'tab:epics:again' });
  const e = mustFind(epics, S.epic, 'epics');
  eq([e.total_children, e.closed_children], [2, 1], '[total_children, closed_children]');
});

await check('update-status open reopens (bd update ID --status open)', async () => {
  expect(bdShow(C2).status === 'closed', `nothing to reopen: ${C2} was not closed above`);
  const r = detailObject(await client.send('update-status', { id: C2, status: 'open' }, `update ${C2} --status open`), 'update-status open');
  eq(r.status, 'open', 'reply status');
  eq(bdShow(C2).status, 'open', 'bd show status');
  await client.until(() => !client.item('tab:board:closed', C2), 10_000, `${C2} deleted from closed-issues`);
});

await check('delete-issue (bd delete ID --force): gone from bd list', async () => {
  expect(created, 'create-issue made nothing to delete');
  const r = await client.send('delete-issue', { id: created }, `delete ${created} --force`);
  eq(r, { deleted: true, id: created }, 'reply');
  const listed = bdJson(['list', '--json']).map((it) => it.id);
  expect(!listed.includes(created), 'bd list still lists it');
  await client.until(() => !client.item('tab:board:ready', created), 10_000, `delete of ${created} in ready-issues`);
});
await check('delete-issue: removed from all-issues by push', async () => {
  client.need('tab:issues');
  expect(created, 'create-issue made nothing to delete');
  await client.until(() => client.items('tab:issues').length > 0 && !client.item('tab:issues', created), 10_000, `delete of ${created} in all-issues`);
});

// --- live refresh: a change made by another bd process reaches the page.
// Each change waits for the server's refreshes to be over (so that only the
// watcher can bring it), and for a new second (beads-ui diffs by updated_at).
await client.settle(1000, 10_000);
await sleep(1100);
const RENAMED = 'Schema migration, renamed outside';
await check('live refresh: `bd update ID --title` by another process is pushed to its detail', async () => {
  const r = bd(['update', S.blocker, '--title', RENAMED]);
  expect(r.code === 0, `bd update exited ${r.code}: ${short(r.stderr)}`);
  const t0 = Date.now();
  await client.until(() => client.item(`detail:${S.blocker}`, S.blocker)?.title === RENAMED, 10_000, 'issue-detail upsert');
  return `${Date.now() - t0} ms`;
});
await check('live refresh: … and to all-issues', async () => {
  client.need('tab:issues');
  await client.until(() => client.item('tab:issues', S.blocker)?.title === RENAMED, 10_000, 'all-issues upsert');
});

await client.settle(1000, 10_000);
await sleep(1100);
const OUTSIDE = 'Made outside the UI';
await check('live refresh: `bd create` by another process is pushed to Ready', async () => {
  const r = bd(['create', OUTSIDE, '-t', 'task', '-p', '2']);
  expect(r.code === 0, `bd create exited ${r.code}: ${short(r.stderr)}`);
  const t0 = Date.now();
  await client.until(() => client.items('tab:board:ready').some((it) => it.title === OUTSIDE), 10_000, 'ready-issues upsert');
  return `${Date.now() - t0} ms`;
});
await check('live refresh: … and to all-issues', async () => {
  client.need('tab:issues');
  await client.until(() => client.items('tab:issues').some((it) => it.title === OUTSIDE), 10_000, 'all-issues upsert');
});

await client.settle(1000, 10_000);
await sleep(1100);
await check('live refresh: `bd close` of the blocker by another process unblocks its dependent', async () => {
  const r = bd(['close', S.blocker, '--reason', 'Done elsewhere']);
  expect(r.code === 0, `bd close exited ${r.code}: ${short(r.stderr)}`);
  const t0 = Date.now();
  await client.until(() => !client.item('tab:board:blocked', S.blocked), 10_000, 'blocked-issues delete');
  await client.until(() => client.item('tab:board:ready', S.blocked), 10_000, 'ready-issues upsert');
  await client.until(() => client.item(`detail:${S.blocker}`, S.blocker)?.status === 'closed', 10_000, 'issue-detail upsert');
  return `${Date.now() - t0} ms`;
});
await check('live refresh: … and moves it to Closed, out of all-issues', async () => {
  client.need('tab:board:closed');
  client.need('tab:issues');
  await client.until(() => client.item('tab:board:closed', S.blocker), 10_000, 'closed-issues upsert');
  await client.until(() => !client.item('tab:issues', S.blocker), 10_000, 'all-issues delete');
});

await stop();
