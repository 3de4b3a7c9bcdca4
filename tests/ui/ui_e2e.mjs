#!/usr/bin/env node
// `bd ui` in a real browser: Debian's headless Chromium driven through
// playwright-core (tests/ui_browser.rs prepares the tracker, starts
// `bd ui`, and runs this script).
//
//   node tests/ui/ui_e2e.mjs --url URL --bd BD --repo REPO --out DIR
//        --fixture FILE [--modules DIR] [--chromium /usr/bin/chromium]
//
// URL is the one `bd ui` printed (with its one-time token); FIXTURE a JSON
// document naming what the tracker holds (ids and titles). `bd` is run, for
// changes made "elsewhere", with this process's environment (BD_HOME,
// BD_ACTOR, …) in REPO. Screenshots (full page PNGs) go to DIR, with
// DIR/console.log (every console message the page printed).
//
// Checks, each a FAIL line (exit 1) when it does not hold:
//  - sign-in: the token URL lands on the overview without the token; the
//    agents' names and states are shown; the live badge says "live";
//  - navigation by the nav links and by the keys 1-5, content on each page,
//    an issue page with its title and comments; light and dark screenshots;
//  - an issue created with the board's form appears in the Ready column;
//  - a `bd create` by another process appears on the open board without a
//    reload (a window marker survives, the URL stays), and what is being
//    typed in the board's form survives that refresh;
//  - every progress bar is drawn (a box, its fill the share it states);
//  - hostile data shows as text: no <img>/<script> made from data, no
//    javascript: link, no dialog; no CSP violation in the console.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const opts = {
  modules: path.join(here, '..', 'classic', 'node_modules'),
  chromium: '/usr/bin/chromium'
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
  opts[argv[i].slice(2)] = argv[i + 1];
}
for (const k of ['url', 'bd', 'repo', 'out', 'fixture']) {
  if (!opts[k]) throw new Error(`usage: ui_e2e.mjs --url URL --bd BD --repo REPO --out DIR --fixture FILE (no --${k})`);
}
const OUT = path.resolve(opts.out);
fs.mkdirSync(OUT, { recursive: true });
const FX = JSON.parse(fs.readFileSync(opts.fixture, 'utf8'));
const require = createRequire(path.join(path.resolve(opts.modules), 'noop.js'));
const { chromium } = require('playwright-core');

const BASE = new URL(opts.url).origin;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const failures = [];
const started = Date.now();
function log(msg) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
}
function check(cond, what) {
  if (cond) log(`ok   ${what}`);
  else {
    failures.push(what);
    log(`FAIL ${what}`);
  }
}
function bd(...args) {
  const r = spawnSync(opts.bd, args, { cwd: opts.repo, env: process.env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bd ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

// ---- Chromium
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bd-ui-e2e-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: opts.chromium,
  headless: true,
  viewport: { width: 1400, height: 900 },
  colorScheme: 'light',
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
const dialogs = [];
const requests = [];
page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`));
page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
page.on('dialog', async (d) => {
  dialogs.push(`${d.type()}: ${d.message()}`);
  await d.dismiss().catch(() => {});
});
const failedResponses = [];
page.on('response', (r) => {
  if (r.status() >= 400) failedResponses.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
});
page.on('request', (r) => {
  if (r.isNavigationRequest()) requests.push(`navigation ${r.url()}`);
});

const main = page.locator('#main');
const h1 = page.locator('#main h1');

async function shot(name) {
  // Let the last render and any font settle.
  await sleep(300);
  const file = path.join(OUT, name);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${file}`);
}

async function heading(text, what) {
  try {
    await h1.filter({ hasText: text }).first().waitFor({ timeout: 10000 });
    check(true, `${what}: heading "${text}"`);
  } catch {
    check(false, `${what}: heading "${text}" (saw: ${await h1.allInnerTexts().catch(() => [])}; main: ${(await main.innerText().catch(() => '')).slice(0, 300)})`);
  }
}

async function visible(locator, what, timeout = 10000) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
    check(true, what);
    return true;
  } catch {
    check(false, what);
    return false;
  }
}

// Every progress bar on the page drawn: a box of some size, its fill the
// share it says (aria-valuenow) of it.
async function progressBars(what, count) {
  const bars = await page.evaluate(() => [...document.querySelectorAll('#main [role="progressbar"]')].map((b) => {
    const r = b.getBoundingClientRect();
    const f = b.firstElementChild ? b.firstElementChild.getBoundingClientRect() : { width: 0, height: 0 };
    return { now: Number(b.getAttribute('aria-valuenow')), width: r.width, height: r.height, fill: f.width, fillHeight: f.height, display: getComputedStyle(b).display };
  }));
  check(bars.length >= count, `${what}: ${count} progress bar(s) (found ${bars.length})`);
  for (const b of bars) {
    const drawn = b.width >= 100 && b.height >= 8 && Math.abs(b.fill - (b.width * b.now) / 100) <= 2 && (b.now === 0 || b.fillHeight >= 8);
    check(drawn, `${what}: the ${b.now}% bar is drawn (box ${b.width.toFixed(0)}×${b.height.toFixed(0)}, fill ${b.fill.toFixed(0)}×${b.fillHeight.toFixed(0)}, display ${b.display})`);
  }
}

async function clickNav(name) {
  await page.locator('nav a', { hasText: name }).first().click();
}

async function noDataElements(what) {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const e of document.querySelectorAll('#main img, #main script, #main iframe, #main object, #main embed')) out.push(e.outerHTML);
    for (const a of document.querySelectorAll('a[href]')) {
      if (/^\s*javascript:/i.test(a.getAttribute('href'))) out.push(a.outerHTML);
    }
    for (const e of document.querySelectorAll('#main *')) {
      for (const at of e.attributes) if (/^on/i.test(at.name)) out.push(`${e.tagName} ${at.name}`);
    }
    return out;
  });
  check(bad.length === 0, `${what}: no <img>/<script>/on* attribute/javascript: link from data ${bad.length ? JSON.stringify(bad) : ''}`);
}

try {
  // ---- 6. sign in, land on the overview
  await page.goto(opts.url);
  await heading('Overview', 'sign-in');
  check(!page.url().includes('token='), `the token is dropped from the address (${page.url()})`);
  check(new URL(page.url()).pathname === '/', 'landed on /');
  const cookies = await context.cookies(BASE);
  const session = cookies.find((c) => c.name === 'bd_ui');
  check(session && session.httpOnly && session.sameSite === 'Strict', `the session cookie is HttpOnly, SameSite=Strict (${JSON.stringify(session && { httpOnly: session.httpOnly, sameSite: session.sameSite })})`);
  check((await page.evaluate(() => document.cookie)) === '', 'the page script cannot read the session cookie');
  await page.evaluate(() => { window.__bdMarker = 'still-here'; });
  for (const a of FX.agents) {
    const row = page.locator('#main table tbody tr', { hasText: a.name });
    if (await visible(row, `overview: agent ${a.name} listed`)) {
      const st = (await row.first().locator('td').nth(1).innerText()).trim();
      check(st === a.state, `overview: agent ${a.name} is ${a.state} (shown: ${st})`);
    }
  }
  const claimRow = page.locator('#main table tbody tr', { hasText: FX.claimed_by });
  check((await claimRow.first().innerText()).includes(FX.parser), `overview: ${FX.claimed_by}'s claim ${FX.parser} shown`);
  await visible(page.locator('#live.on', { hasText: 'live' }), 'the live badge says live');
  check((await page.locator('nav a[aria-current="page"]').innerText()) === 'Overview', 'the nav marks the current page');
  await shot('1-overview.png');

  // ---- the pages, by the nav links
  await clickNav('Board');
  await heading('Board', 'board');
  check(new URL(page.url()).pathname === '/board', 'the address follows (/board)');
  const col = (name) => page.locator(`section.col[aria-label="${name}"]`);
  await visible(col('Ready').locator('.card', { hasText: FX.ready_title }), `board: "${FX.ready_title}" in Ready`);
  await visible(col('In progress').locator('.card', { hasText: FX.parser_title }), `board: "${FX.parser_title}" in In progress`);
  await visible(col('Blocked').locator('.card', { hasText: FX.notes_title }), `board: "${FX.notes_title}" in Blocked`);
  await visible(col('Blocked').locator('.card', { hasText: FX.docs_title }), `board: "${FX.docs_title}" in Blocked`);
  await visible(col('Ready').locator('select[aria-label^="Agent for"]'), 'board: a Sling control on ready cards');
  await shot('2-board.png');

  await clickNav('Convoys');
  await heading('Convoys & molecules', 'convoys & molecules');
  const convoy = main.locator('.panel', { hasText: FX.convoy_title });
  await visible(convoy, `work: convoy "${FX.convoy_title}"`);
  check(await convoy.locator('[role="progressbar"]').count() === 1, 'work: the convoy has a progress bar');
  const mol = main.locator('details.panel', { hasText: FX.molecule_title });
  await visible(mol.locator('summary', { hasText: FX.molecule_title }), `work: molecule "${FX.molecule_title}"`);
  check(await mol.locator('summary [role="progressbar"][aria-valuenow="17"]').count() === 1, 'work: the molecule has a progress bar at 17% (1 of 6 steps)');
  await progressBars('work', 2);
  await visible(mol.locator('td', { hasText: FX.ready_title }), 'work: the molecule lists its steps');
  await visible(main.locator('table tr', { hasText: FX.human_gate }), `work: gate ${FX.human_gate} listed`);
  await visible(main.locator('table tr', { hasText: FX.command_gate }).locator('td', { hasText: 'not trusted' }), `work: command gate ${FX.command_gate} not trusted`);
  await shot('3-work.png');

  await clickNav('Mail');
  await heading('Mail', 'mail');
  const thread = main.locator('details.panel', { hasText: FX.mail_subject });
  await visible(thread.locator('summary', { hasText: FX.mail_subject }), `mail: thread "${FX.mail_subject}"`);
  await visible(thread.locator('.md strong', { hasText: FX.mail_strong }), `mail: the body's markdown (**${FX.mail_strong}**) rendered`);
  check((await thread.first().innerText()).includes(FX.mail_text), `mail: the body text "${FX.mail_text}"`);
  const attach = main.locator(`a[download]`, { hasText: FX.attachment_name });
  if (await visible(attach, `mail: the attachment ${FX.attachment_name} as a download link`)) {
    const href = await attach.first().getAttribute('href');
    const body = await page.evaluate(async (h) => (await fetch(h)).text(), href);
    check(body === FX.attachment_text, `mail: the attachment's bytes (${JSON.stringify(body)})`);
  }
  await shot('4-mail.png');

  await clickNav('Metrics');
  await heading('Metrics', 'metrics');
  await visible(main.locator('svg'), 'metrics: an <svg> chart', 10000);
  check(await main.locator('figure svg[role="img"]').count() >= 2, 'metrics: the two per-day charts');
  await visible(main.locator('.chip', { hasText: 'runs: 0' }), 'metrics: the run count');
  await progressBars('metrics', 1);
  await shot('5-metrics.png');

  // An issue page, by a link on the board.
  await clickNav('Board');
  await heading('Board', 'board again');
  await col('In progress').locator('a', { hasText: FX.parser_title }).first().click();
  await heading(`${FX.parser}: ${FX.parser_title}`, 'issue page');
  check(new URL(page.url()).pathname === `/issue/${FX.parser}`, `the address is /issue/${FX.parser}`);
  await visible(main.locator('article.card', { hasText: FX.comment }), 'issue: its comment');
  await visible(main.locator('h2', { hasText: 'Comments (1)' }), 'issue: the comment count');
  await visible(main.locator('section.panel', { hasText: 'History' }).locator('tr', { hasText: FX.commit_subject }), 'issue: the commit in its history');
  await shot('6-issue.png');

  // ---- the keys 1-5 (focus on the page, not in a field)
  const keys = [['1', 'Overview'], ['2', 'Board'], ['3', 'Convoys & molecules'], ['4', 'Mail'], ['5', 'Metrics'], ['1', 'Overview']];
  for (const [k, name] of keys) {
    await page.keyboard.press(k);
    await heading(name, `key ${k}`);
  }
  // A key typed into a field is text, not navigation.
  await page.keyboard.press('2');
  await heading('Board', 'key 2 again');
  const titleInput = main.locator('form[aria-label="Create issue"] input[name="title"]');
  await titleInput.click();
  await page.keyboard.type('3');
  await sleep(300);
  check((await h1.innerText()) === 'Board' && (await titleInput.inputValue()) === '3', 'a digit typed in the title field stays there');
  await titleInput.fill('');
  // Back and forward: the history works.
  await page.goBack();
  await heading('Overview', 'back');
  await page.goForward();
  await heading('Board', 'forward');
  check((await page.evaluate(() => window.__bdMarker)) === 'still-here', 'navigation never reloaded the page');

  // ---- dark
  await page.locator('#theme').click();
  check((await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark', 'the ◐ button switches to dark');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(bg === 'rgb(21, 22, 26)', `dark background (${bg})`);
  await shot('7-board-dark.png');
  await page.keyboard.press('4');
  await heading('Mail', 'mail in dark');
  await shot('8-mail-dark.png');
  await page.locator('#theme').click();
  check((await page.evaluate(() => document.documentElement.dataset.theme)) === 'light', 'and back to light');

  // ---- 7. an action: create through the board's form
  await page.keyboard.press('2');
  await heading('Board', 'board for the form');
  const form = main.locator('form[aria-label="Create issue"]');
  await form.locator('input[name="title"]').fill(FX.created_title);
  await form.locator('select[name="type"]').selectOption('feature');
  await form.locator('select[name="priority"]').selectOption('1');
  await form.locator('button[type="submit"]').click();
  await visible(col('Ready').locator('.card', { hasText: FX.created_title }), `created "${FX.created_title}" appears in Ready`);
  const card = col('Ready').locator('.card', { hasText: FX.created_title }).first();
  check((await card.innerText()).includes('P1 feature'), `its card says P1 feature (${(await card.innerText().catch(() => '')).replace(/\n/g, ' ')})`);
  await visible(page.locator('#toast', { hasText: 'create: done' }), 'a toast says done');
  check((await form.locator('input[name="title"]').inputValue()) === '', 'the form is cleared');

  // A refusal shows as a toast: the server's message. (After the create a
  // change event re-renders the board: wait for it, then use the new form.)
  await sleep(1000);
  await form.locator('input[name="title"]').fill('   ');
  await form.locator('button[type="submit"]').click();
  await visible(page.locator('#toast', { hasText: 'create refused: create: give title' }), 'a refused create says so in a toast');

  // ---- 8. live: a change by another process, no reload
  const urlBefore = page.url();
  const navBefore = requests.length;
  const t0 = Date.now();
  bd('create', FX.elsewhere_title, '-p', '2');
  const appeared = await visible(col('Ready').locator('.card', { hasText: FX.elsewhere_title }), `"${FX.elsewhere_title}" (made by another bd) appears on the open board`, 20000);
  if (appeared) log(`     it appeared ${Date.now() - t0} ms after bd create began`);
  check((await page.evaluate(() => window.__bdMarker)) === 'still-here', 'no reload: the window marker survived');
  check(page.url() === urlBefore && requests.length === navBefore, `no navigation happened (${requests.slice(navBefore).join(', ')})`);
  await shot('9-board-live.png');

  // What a person is typing survives a live refresh.
  await form.locator('input[name="title"]').fill('Half typed');
  await form.locator('select[name="type"]').selectOption('chore');
  bd('create', FX.typed_over_title, '-p', '2');
  await visible(col('Ready').locator('.card', { hasText: FX.typed_over_title }), `"${FX.typed_over_title}" appears while a title is being typed`, 20000);
  const kept = await form.locator('input[name="title"]').inputValue().catch(() => '(no field)');
  const keptType = await form.locator('select[name="type"]').inputValue().catch(() => '(no field)');
  check(kept === 'Half typed' && keptType === 'chore', `the half-typed title and the chosen type survive the live refresh (field now ${JSON.stringify(kept)}, type ${keptType})`);
  await form.locator('input[name="title"]').fill('');

  // ---- 9. hostile data as text
  await visible(col('Ready').locator('.card', { hasText: FX.hostile_title }), 'board: the hostile title shown as text');
  await noDataElements('board');
  await col('Ready').locator('a', { hasText: FX.hostile_title }).first().click();
  await heading(FX.hostile_title, 'hostile issue page');
  await visible(main.locator('.md', { hasText: FX.hostile_link_text }), 'issue: the javascript: link stays text');
  await noDataElements('hostile issue page');
  await shot('10-issue-hostile.png');
  await page.keyboard.press('4');
  await heading('Mail', 'mail with hostile data');
  const hostile = main.locator('details.panel', { hasText: FX.hostile_subject });
  await visible(hostile.locator('summary', { hasText: FX.hostile_subject }), 'mail: the hostile subject as text');
  await visible(hostile.locator('.md', { hasText: FX.hostile_script }), 'mail: the <script> body as text');
  await visible(hostile.locator('.md', { hasText: FX.hostile_link_text }), 'mail: the javascript: link as text');
  await noDataElements('mail');
  await shot('11-mail-hostile.png');
  // Give any injected handler its chance.
  await sleep(500);
  check(dialogs.length === 0, `no dialog opened (${dialogs.join('; ')})`);
  check((await page.evaluate(() => window.__bdMarker)) === 'still-here', 'still the same page at the end');
} catch (e) {
  failures.push(`exception: ${e.stack || e}`);
  log(`FAIL exception: ${e.stack || e}`);
  await page.screenshot({ path: path.join(OUT, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  fs.writeFileSync(path.join(OUT, 'console.log'), consoleLines.join('\n') + (consoleLines.length ? '\n' : ''));
  await context.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
}

// ---- console: no CSP violation, no error from the app itself
const csp = consoleLines.filter((l) => /Content Security Policy|Refused to (load|execute|apply|connect|frame)/i.test(l));
const errors = consoleLines.filter((l) => /^(error|pageerror):/.test(l));
log(`console messages (${consoleLines.length}):${consoleLines.map((l) => `\n     ${l}`).join('')}`);
check(csp.length === 0, `no CSP violation in the console (${csp.length})`);
// The refused action (the 400 of the blank title) logs its failed fetch,
// and Chromium asks for /favicon.ico (the server has none: 404); nothing else.
log(`answers >= 400 the page got: ${failedResponses.join(', ')}`);
const expected = (l) => /status of 400 .*\/api\/action/.test(l) || /status of 404 .*\/favicon\.ico/.test(l);
const unexpected = errors.filter((l) => !expected(l));
check(unexpected.length === 0, `no other console error (${unexpected.join(' | ')})`);
const unexpectedResponses = failedResponses.filter((r) => r !== '400 POST /api/action' && r !== '404 GET /favicon.ico');
check(unexpectedResponses.length === 0, `no other failed request (${unexpectedResponses.join(', ')})`);

if (failures.length) {
  console.log(`\n${failures.length} check(s) failed:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
log('all checks passed');
