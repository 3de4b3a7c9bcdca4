#!/usr/bin/env node
// Screenshots of beads-ui 0.12.0 served on a small repository made with the
// given `bd`, taken by Debian's headless Chromium through playwright-core.
//
//   node tests/classic/screenshots.mjs --bd BD --out DIR
//        [--modules DIR] [--chromium /usr/bin/chromium]
//
// Writes DIR/1-issues.png (the issue list), DIR/2-issue-detail.png (an issue
// with a dependency and a dependent, labels and a comment), DIR/3-epics.png,
// DIR/4-board.png (each NAME-dismissed.png too when a failed bd call put
// beads-ui's error dialog over it), and DIR/bd-calls.log (every bd call beads-ui made, with
// the exit code and stderr of the failed ones). A panel left blank points at
// the call that failed there (BEADS_UI.md says which call feeds which panel).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const opts = { modules: path.join(here, 'node_modules'), chromium: '/usr/bin/chromium' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
  opts[argv[i].slice(2)] = argv[i + 1];
}
if (!opts.bd || !opts.out) throw new Error('usage: screenshots.mjs --bd BD --out DIR');
const BD = path.resolve(opts.bd);
const OUT = path.resolve(opts.out);
fs.mkdirSync(OUT, { recursive: true });
const require = createRequire(path.join(opts.modules, 'noop.js'));
const { chromium } = require('playwright-core');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'beads-ui-shots-'));
const REPO = path.join(tmp, 'shop');
const HOME = path.join(tmp, 'home');
const BIN = path.join(tmp, 'bin');
const CALLS = path.join(OUT, 'bd-calls.log');
for (const d of [REPO, HOME, BIN]) fs.mkdirSync(d, { recursive: true });
fs.writeFileSync(CALLS, '');
const ENV = {
  PATH: `${BIN}:${process.env.PATH || ''}`,
  HOME,
  BD_HOME: HOME,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  BD_ACTOR: 'ada',
  LANG: 'C.UTF-8'
};

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: REPO, env: ENV, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}
const bd = (...args) => run(BD, args);

// ---- the repository
run('git', ['init', '-q', '-b', 'main']);
run('git', ['config', 'user.name', 'Ada']);
run('git', ['config', 'user.email', 'ada@example.com']);
bd('init', '--prefix', 'shop');
const epic = bd('create', 'Checkout revamp', '-t', 'epic', '-p', '1', '-l', 'checkout', '-d', 'One page checkout with saved cards.');
const cart = bd('create', 'Cart summary sidebar', '-t', 'feature', '-p', '1', '--parent', epic, '-l', 'checkout', '-l', 'frontend');
const pay = bd('create', 'Charge saved cards', '-t', 'task', '-p', '1', '--parent', epic, '-l', 'payments', '-a', 'bob');
const receipt = bd('create', 'Email receipts', '-t', 'task', '-p', '2', '--parent', epic, '-l', 'checkout');
const schema = bd('create', 'Migrate the orders schema', '-t', 'chore', '-p', '0', '-l', 'backend');
const flaky = bd('create', 'Flaky payment webhook test', '-t', 'bug', '-p', '2', '-l', 'ci');
const old = bd('create', 'Spike: PSP comparison', '-t', 'task', '-p', '3');
bd('dep', 'add', pay, schema, '--type', 'blocks');
bd('dep', 'add', receipt, pay, '--type', 'blocks');
bd('update', flaky, '--status', 'in_progress', '-a', 'ada');
bd('close', old, '--reason', 'Picked Stripe');
bd('close', cart, '--reason', 'Shipped');
bd('update', pay, '--description', 'Use the **vault token**; never store card numbers.', '--acceptance-criteria', 'A retried charge bills once.');
bd('comment', pay, 'Idempotency keys go in the request header.');

// ---- beads-ui, with bd found on PATH through a recording shim
fs.writeFileSync(
  path.join(BIN, 'bd'),
  `#!/bin/bash
out=$(mktemp) err=$(mktemp)
${JSON.stringify(BD)} "$@" >"$out" 2>"$err"
code=$?
{ printf 'bd'; printf ' %q' "$@"; printf '  -> exit %d\\n' "$code"
  if [ "$code" -ne 0 ]; then sed 's/^/    stderr: /' "$err" | head -n 4; fi; } >> ${JSON.stringify(CALLS)}
cat "$out"; cat "$err" >&2; rm -f "$out" "$err"
exit $code
`,
  { mode: 0o755 }
);

const port = await new Promise((resolve, reject) => {
  const s = net.createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => {
    const { port: p } = s.address();
    s.close(() => resolve(p));
  });
});
const server = spawn(
  process.execPath,
  [path.join(opts.modules, 'beads-ui', 'server', 'index.js'), '--port', String(port)],
  { cwd: REPO, env: ENV, stdio: 'ignore' }
);
const BASE = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${BASE}/healthz`)).ok) break;
  } catch {
    // not yet
  }
  if (i > 100) throw new Error('beads-ui did not start');
  await sleep(100);
}

// ---- Chromium
const profile = fs.mkdtempSync(path.join(tmp, 'profile-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: opts.chromium,
  headless: true,
  viewport: { width: 1600, height: 860 },
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync'
  ]
});
const page = context.pages()[0] || (await context.newPage());
const consoleLines = [];
page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));

/** Load the page at `hash` afresh, let every request and subscription
 * settle, save `name`. */
async function shot(hash, name) {
  await page.goto('about:blank');
  await page.goto(`${BASE}/${hash}`);
  await page.waitForFunction(
    () =>
      window.__bdui_debug &&
      window.__bdui_debug.getActivityCount() === 0 &&
      window.__bdui_debug.getPendingSubscriptions().length === 0,
    null,
    { timeout: 15000 }
  ).catch(() => {});
  await sleep(1200);
  const file = path.join(OUT, name);
  await page.screenshot({ path: file });
  console.log(file);
  // A failed bd call opens beads-ui's "Failed to load …" dialog over the
  // view: keep that picture, and one of what is behind it.
  const dialog = page.locator('#fatal-error-dialog[open]');
  if ((await dialog.count()) > 0) {
    const title = await page.locator('#fatal-error-title').innerText();
    await page.locator('#fatal-error-close').click();
    await sleep(300);
    const behind = file.replace(/\.png$/, '-dismissed.png');
    await page.screenshot({ path: behind });
    console.log(`${behind} (beads-ui said: ${title})`);
  }
}

try {
  await shot('#/issues', '1-issues.png');
  await shot(`#/issues?issue=${encodeURIComponent(pay)}`, '2-issue-detail.png');
  await shot('#/epics', '3-epics.png');
  await shot('#/board', '4-board.png');
} finally {
  await context.close();
  server.kill('SIGTERM');
  fs.writeFileSync(path.join(OUT, 'console.log'), consoleLines.join('\n') + '\n');
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`ids: epic ${epic}, children ${cart} (closed) ${pay} ${receipt}, blocker ${schema}, in progress ${flaky}, closed ${old}`);
