// bd ui: pages built from the server's JSON with textContent only (no HTML
// from data ever reaches the DOM), live through server-sent events.
'use strict';

const state = { ws: Number(localStorage.getItem('bd-ws') || 0), page: null, agents: [] };

// ---------------------------------------------------------------- helpers

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat(Infinity)) {
    if (k === undefined || k === null || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function link(path, text) {
  return el('a', { href: path, onclick: (ev) => { ev.preventDefault(); go(path); } }, text);
}

function issueLink(id, title) {
  return link('/issue/' + encodeURIComponent(id), title ? `${id} ${title}` : id);
}

function when(t) {
  if (!t) return '';
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  const ago = s < 60 ? `${s}s` : s < 3600 ? `${Math.round(s / 60)}m` : s < 86400 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
  return s >= 0 ? `${ago} ago` : d.toISOString();
}

function chip(text, cls) { return el('span', { class: 'chip ' + (cls || '') }, text); }

function failed(part) {
  return part && typeof part === 'object' && !Array.isArray(part) && part.failed;
}

function failure(part) {
  return el('p', { class: 'failed' }, 'Could not read this part: ', part.failed.error || 'error');
}

function list(part) { return Array.isArray(part) ? part : (part && Array.isArray(part.items) ? part.items : []); }

function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

async function api(path, params) {
  const q = new URLSearchParams(Object.assign({ ws: state.ws }, params || {}));
  const r = await fetch(`/api/${path}?${q}`, { credentials: 'same-origin' });
  if (r.status === 401) throw new Error('Signed out: open the URL `bd ui` printed.');
  if (!r.ok) {
    let msg = r.statusText;
    try { const j = await r.json(); msg = j.error || msg; } catch (_) { /* keep the status */ }
    throw new Error(msg);
  }
  return r.json();
}

async function act(action, params) {
  const r = await fetch(`/api/action?ws=${state.ws}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ action, params }),
  });
  const j = await r.json().catch(() => ({}));
  if (!r.ok || !j.ok) {
    const e = (j.error && (j.error.error || j.error)) || r.statusText;
    toast(`${action} refused: ${e}`);
    return null;
  }
  toast(`${action.replace('_', ' ')}: done`);
  render();
  return j.result;
}

// A form whose fields (name → label) become an action's params.
function actionForm(action, fields, label, extra) {
  const inputs = {};
  const f = el('form', { class: 'inline', 'aria-label': label, onsubmit: async (ev) => {
    ev.preventDefault();
    const p = Object.assign({}, extra || {});
    for (const [k, i] of Object.entries(inputs)) p[k] = i.value;
    if (await act(action, p)) f.reset();
  } });
  for (const [name, spec] of Object.entries(fields)) {
    let input;
    if (Array.isArray(spec.options)) {
      input = el('select', { name }, spec.options.map((o) => el('option', { value: o }, o)));
    } else if (spec.area) {
      input = el('textarea', { name, placeholder: spec.label });
    } else {
      input = el('input', { name, placeholder: spec.label, required: spec.required });
    }
    inputs[name] = input;
    f.append(el('label', {}, el('span', { class: 'muted' }, spec.label + ' '), input));
  }
  f.append(el('button', { type: 'submit', class: 'primary' }, label));
  return f;
}

function button(text, onclick, cls) { return el('button', { type: 'button', class: cls, onclick }, text); }

// ---------------------------------------------------------------- markdown
// A small markdown renderer that only ever creates elements and text nodes:
// raw HTML in the text stays text; links only to http(s), mailto and this site.

function inline(text) {
  const out = [];
  const re = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*\s][^*]*\*)|(\[[^\]]+\]\([^)\s]+\))/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const t = m[0];
    if (m[1]) out.push(el('code', {}, t.slice(1, -1)));
    else if (m[2]) out.push(el('strong', {}, t.slice(2, -2)));
    else if (m[3]) out.push(el('em', {}, t.slice(1, -1)));
    else {
      const label = t.slice(1, t.indexOf(']('));
      const href = t.slice(t.indexOf('](') + 2, -1);
      if (/^(https?:|mailto:|\/(?!\/)|#)/i.test(href)) out.push(el('a', { href, rel: 'noopener noreferrer' }, label));
      else out.push(t);
    }
    last = m.index + t.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function markdown(src) {
  const box = el('div', { class: 'md' });
  const lines = String(src || '').replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const l = lines[i];
    if (/^```/.test(l)) {
      const body = [];
      i++;
      while (i < lines.length && !/^```/.test(lines[i])) body.push(lines[i++]);
      i++;
      box.append(el('pre', {}, el('code', {}, body.join('\n'))));
    } else if (/^#{1,6}\s/.test(l)) {
      const n = Math.min(6, l.match(/^#+/)[0].length + 2);
      box.append(el('h' + n, {}, inline(l.replace(/^#+\s*/, ''))));
      i++;
    } else if (/^\s*([-*]|\d+\.)\s+/.test(l)) {
      const ordered = /^\s*\d+\./.test(l);
      const ul = el(ordered ? 'ol' : 'ul', {});
      while (i < lines.length && /^\s*([-*]|\d+\.)\s+/.test(lines[i])) {
        ul.append(el('li', {}, inline(lines[i].replace(/^\s*([-*]|\d+\.)\s+/, ''))));
        i++;
      }
      box.append(ul);
    } else if (/^>\s?/.test(l)) {
      const q = [];
      while (i < lines.length && /^>\s?/.test(lines[i])) q.push(lines[i++].replace(/^>\s?/, ''));
      box.append(el('blockquote', {}, inline(q.join(' '))));
    } else if (l.trim() === '') {
      i++;
    } else {
      const p = [];
      while (i < lines.length && lines[i].trim() !== '' && !/^(```|#{1,6}\s|>|\s*([-*]|\d+\.)\s)/.test(lines[i])) p.push(lines[i++]);
      box.append(el('p', {}, inline(p.join(' '))));
    }
  }
  return box;
}

// ---------------------------------------------------------------- charts (inline SVG)

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

// Vertical bars: [{label, value}], one series.
function barChart(title, rows, cls) {
  const w = 40 + Math.max(1, rows.length) * 34;
  const h = 180;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const s = svg('svg', { width: w, height: h + 40, role: 'img', 'aria-label': title });
  s.append(svg('line', { class: 'axis', x1: 30, y1: h, x2: w, y2: h }));
  s.append(svg('text', { x: 0, y: 12 }, String(max)));
  rows.forEach((r, k) => {
    const bh = Math.round((r.value / max) * (h - 20));
    const x = 36 + k * 34;
    s.append(svg('rect', { class: cls || 'b1', x, y: h - bh, width: 24, height: bh }, svg('title', {}, `${r.label}: ${r.value}`)));
    s.append(svg('text', { x, y: h + 14 }, r.label.slice(5)));
    s.append(svg('text', { x, y: h - bh - 3 }, String(r.value)));
  });
  return el('figure', { class: 'panel' }, el('figcaption', {}, title), s);
}

// Horizontal bars with two values (e.g. spent of allocated): [{label, a, b}].
function pairChart(title, rows, la, lb) {
  const h = 24 * rows.length + 30;
  const w = 560;
  const max = Math.max(1, ...rows.map((r) => Math.max(r.a, r.b)));
  const s = svg('svg', { width: w, height: h, role: 'img', 'aria-label': title });
  rows.forEach((r, k) => {
    const y = 10 + k * 24;
    s.append(svg('text', { x: 0, y: y + 12 }, r.label.slice(0, 24)));
    s.append(svg('rect', { class: 'b1', x: 170, y, width: Math.round((r.a / max) * 360), height: 9 }, svg('title', {}, `${la}: ${r.a}`)));
    s.append(svg('rect', { class: 'b3', x: 170, y: y + 10, width: Math.round((r.b / max) * 360), height: 9 }, svg('title', {}, `${lb}: ${r.b}`)));
  });
  return el('figure', { class: 'panel' }, el('figcaption', {}, `${title} (blue: ${la}, orange: ${lb})`), s);
}

function progress(done, total) {
  const pct = total ? Math.round((done * 100) / total) : 0;
  // Through the CSS object model: the policy refuses style attributes.
  const fill = el('span', {});
  fill.style.width = `${pct}%`;
  return el('span', { class: 'prog' },
    el('span', { class: 'bar', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 }, fill),
    el('span', { class: 'muted' }, ` ${done}/${total} (${pct}%)`));
}

// ---------------------------------------------------------------- pages

async function overview(main) {
  const d = await api('overview');
  main.append(el('h1', {}, 'Overview'));
  main.append(el('p', { class: 'muted' }, `${d.workspace || ''} · project ${d.identity || ''} · you are ${d.actor || ''}`));
  main.append(el('h2', {}, 'Agents'));
  const agents = list(d.agents);
  state.agents = agents.map((a) => a.name);
  if (failed(d.agents)) main.append(failure(d.agents));
  else if (!agents.length) main.append(el('p', { class: 'muted' }, 'No agents registered (bd agent register NAME).'));
  else main.append(el('table', {}, el('thead', {}, el('tr', {}, ['Agent', 'State', 'Last heartbeat', 'Note', 'Claims', 'Hook', 'Unread mail'].map((h) => el('th', {}, h)))),
    el('tbody', {}, agents.map((a) => el('tr', {},
      el('td', {}, a.name, ' ', chip(a.kind || '')),
      el('td', { class: 'st-' + a.state }, a.state),
      el('td', {}, when(a.last_heartbeat)),
      el('td', {}, a.note || ''),
      el('td', {}, (a.claims || []).map((c) => el('div', {}, issueLink(c), a.state !== 'online' ? button('Release', () => act('release', { id: c })) : null))),
      el('td', {}, (a.hook || []).map((c) => el('div', {}, issueLink(c)))),
      el('td', {}, String(a.unread_mail || 0)))))));
  main.append(el('h2', {}, 'Workers'));
  const workers = list(d.workers);
  if (failed(d.workers)) main.append(failure(d.workers));
  else if (!workers.length) main.append(el('p', { class: 'muted' }, 'No workers running (bd run).'));
  else main.append(el('table', {}, el('thead', {}, el('tr', {}, ['Agent', 'State', 'Item', 'Since', 'Last output'].map((h) => el('th', {}, h)))),
    el('tbody', {}, workers.map((x) => el('tr', {},
      el('td', {}, x.agent), el('td', {}, x.state, x.alive === false ? ' (gone)' : ''),
      el('td', {}, x.item ? issueLink(x.item, x.title) : ''),
      el('td', {}, when(x.run_started_at || x.started_at)),
      el('td', {}, el('code', {}, x.last_line || '')))))));
}

function cardOf(i, extra) {
  return el('div', { class: 'card' },
    issueLink(i.id, i.title),
    el('div', { class: 'meta' }, `P${i.priority ?? ''} ${i.issue_type || ''}`, i.assignee ? ` · ${i.assignee}` : '', extra || ''));
}

async function board(main) {
  const [d, o] = await Promise.all([api('board'), api('overview')]);
  state.agents = list(o.agents).map((a) => a.name);
  main.append(el('h1', {}, 'Board'));
  const counts = d.counts && !failed(d.counts) ? (d.counts.groups || d.counts.by_status || d.counts) : null;
  if (counts && typeof counts === 'object') {
    const pairs = Array.isArray(counts) ? counts.map((g) => [g.group || g.status || g.key, g.count]) : Object.entries(counts).filter(([, v]) => typeof v === 'number');
    main.append(el('p', {}, pairs.map(([k, v]) => chip(`${k}: ${v}`))));
  }
  main.append(actionForm('create', {
    title: { label: 'Title', required: true },
    type: { label: 'Type', options: ['task', 'bug', 'feature', 'chore', 'epic'] },
    priority: { label: 'Priority', options: ['2', '0', '1', '3', '4'] },
  }, 'Create issue'));
  const cols = el('div', { class: 'cols' });
  const col = (title, part, extra) => {
    const c = el('section', { class: 'col', 'aria-label': title }, el('h2', {}, `${title} (${list(part).length})`));
    if (failed(part)) c.append(failure(part));
    for (const i of list(part)) c.append(cardOf(i, extra && extra(i)));
    cols.append(c);
  };
  col('Ready', d.ready, (i) => state.agents.length ? el('span', {}, ' ', slingControl(i.id)) : null);
  col('In progress', { items: list(d.in_progress).concat(list(d.hooked)) });
  col('Blocked', d.blocked, (i) => {
    const by = i.blocked_by || [];
    return by.length ? el('div', {}, 'blocked by ', by.map((b, k) => [k ? ', ' : '', issueLink(b)])) : null;
  });
  col('Recently closed', d.closed, (i) => i.close_reason ? ` · ${i.close_reason}` : '');
  main.append(cols);
}

function slingControl(id) {
  const sel = el('select', { 'aria-label': `Agent for ${id}` }, state.agents.map((a) => el('option', { value: a }, a)));
  return el('span', {}, sel, button('Sling', () => act('sling', { id, agent: sel.value })));
}

function gateRow(g) {
  const acts = [];
  if (g.status !== 'closed' && g.await_type === 'human') acts.push(button('Resolve', () => act('gate_resolve', { id: g.id, reason: 'resolved from the dashboard' })));
  if (g.status !== 'closed' && g.trusted === false) acts.push(button('Trust', () => act('gate_trust', { id: g.id })));
  return el('tr', {},
    el('td', {}, issueLink(g.id)), el('td', {}, g.await_type), el('td', { class: 'st-' + g.status }, g.status),
    el('td', {}, g.program ? el('code', {}, g.program) : (g.await_id || '')),
    el('td', { class: g.trusted === false ? 'st-untrusted' : '' }, g.trusted === undefined ? '' : (g.trusted ? 'trusted' : 'not trusted')),
    el('td', {}, (g.blocks || []).map((b) => el('div', {}, issueLink(b)))),
    el('td', {}, acts));
}

async function work(main) {
  const d = await api('work');
  main.append(el('h1', {}, 'Convoys & molecules'));
  main.append(el('h2', {}, 'Convoys'));
  if (failed(d.convoys)) main.append(failure(d.convoys));
  else if (!list(d.convoys).length) main.append(el('p', { class: 'muted' }, 'No convoys.'));
  for (const c of list(d.convoys)) {
    main.append(el('div', { class: 'panel' }, issueLink(c.id, c.title), ' ', chip(c.status, 'st-' + c.status), ' ', progress(c.done, c.tracked),
      el('div', { class: 'muted' }, Object.entries(c.by_status || {}).map(([k, v]) => chip(`${k}: ${v.count}`)))));
  }
  main.append(el('h2', {}, 'Molecules'));
  if (failed(d.molecules)) main.append(failure(d.molecules));
  else if (!list(d.molecules).length) main.append(el('p', { class: 'muted' }, 'No molecules (bd mol pour FORMULA).'));
  for (const m of list(d.molecules)) {
    main.append(el('details', { class: 'panel', open: m.status !== 'closed' },
      el('summary', {}, issueLink(m.molecule_id, m.molecule_title), ' ', m.formula ? chip(m.formula) : '', ' ', chip(m.status, 'st-' + m.status), ' ', progress(m.completed, m.total)),
      el('table', {}, el('tbody', {}, (m.steps || []).map((s) => el('tr', {},
        el('td', { class: 'st-' + s.state }, s.state), el('td', {}, issueLink(s.id, s.title)), el('td', { class: 'muted' }, s.step || ''),
        el('td', {}, s.assignee || ''), el('td', { class: 'muted' }, (s.blocked_by || []).length ? 'after ' + s.blocked_by.join(', ') : '')))))));
  }
  main.append(el('h2', {}, 'Gates'));
  if (failed(d.gates)) main.append(failure(d.gates));
  else if (!list(d.gates).length) main.append(el('p', { class: 'muted' }, 'No gates.'));
  else main.append(el('table', {}, el('thead', {}, el('tr', {}, ['Gate', 'Type', 'Status', 'Waits on', 'This machine', 'Blocks', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, list(d.gates).map(gateRow))));
}

async function mail(main) {
  const d = await api('mail');
  main.append(el('h1', {}, 'Mail'));
  main.append(actionForm('mail_send', {
    to: { label: 'To (comma-separated)', required: true },
    subject: { label: 'Subject', required: true },
    issue: { label: 'About issue' },
    body: { label: 'Message (markdown)', area: true },
  }, 'Send'));
  if (failed(d.messages)) { main.append(failure(d.messages)); return; }
  const threads = new Map();
  for (const m of list(d.messages)) {
    if (!threads.has(m.thread)) threads.set(m.thread, []);
    threads.get(m.thread).push(m);
  }
  if (!threads.size) main.append(el('p', { class: 'muted' }, 'No messages.'));
  for (const [, ms] of threads) {
    ms.sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
    const first = ms[0];
    main.append(el('details', { class: 'panel', open: threads.size < 6 },
      el('summary', {}, el('strong', {}, first.subject || '(no subject)'), ` · ${ms.length} message(s) · ${when(ms[ms.length - 1].created_at)}`,
        first.issue ? [' · about ', issueLink(first.issue)] : ''),
      ms.map((m) => el('article', { class: 'card' },
        el('div', { class: 'meta' }, `${m.from} → ${(m.to || []).join(', ')}`, (m.cc || []).length ? ` cc ${(m.cc || []).join(', ')}` : '', ` · ${when(m.created_at)}`,
          m.importance && m.importance !== 'normal' ? [' ', chip(m.importance)] : '',
          (m.read_by || []).length ? ` · read by ${m.read_by.join(', ')}` : '',
          (m.acked_by || []).length ? ` · acked by ${m.acked_by.join(', ')}` : ''),
        markdown(m.body),
        (m.attachments || []).map((a) => el('div', {}, '📎 ', el('a', { href: `/api/attachment?ws=${state.ws}&sha=${encodeURIComponent(a.sha256)}&name=${encodeURIComponent(a.name || '')}`, download: a.name || 'attachment' }, a.name || a.sha256), ` (${a.size ?? '?'} bytes)`)),
        Object.keys(m.delivery || {}).length ? el('div', { class: 'muted' }, 'handed off: ', Object.entries(m.delivery).map(([p, v]) => chip(`${p}: ${v && (v.status || v.issue) ? `${v.issue || ''} ${v.status || ''}` : 'sent'}`))) : null))));
  }
}

async function metrics(main) {
  const d = await api('metrics');
  main.append(el('h1', {}, 'Metrics'));
  const m = d.metrics;
  if (failed(m)) { main.append(failure(m)); return; }
  main.append(el('p', {}, chip(`runs: ${m.runs}`), chip(`items done: ${m.items_done}`),
    chip(`completion rate: ${m.completion_rate == null ? '—' : Math.round(m.completion_rate * 100) + '%'}`),
    chip(`throughput: ${m.throughput_per_hour == null ? '—' : m.throughput_per_hour + '/h'}`), chip(`waiting: ${m.items_waiting}`), chip(`tokens: ${m.tokens}`)));
  const days = m.per_day || [];
  main.append(barChart('Items done per day', days.map((x) => ({ label: x.day, value: x.items_done })), 'b2'));
  main.append(barChart('Hours in runs per day', days.map((x) => ({ label: x.day, value: Math.round(x.busy_hours * 10) / 10 })), 'b1'));
  const ags = m.agents || [];
  if (ags.length) main.append(pairChart('Utilization and success rate per agent (%)', ags.map((a) => ({ label: a.agent, a: Math.round((a.utilization || 0) * 100), b: Math.round((a.success_rate || 0) * 100) })), 'utilization', 'success rate'));
  const rate = m.completion_rate == null ? 0 : Math.round(m.completion_rate * 100);
  main.append(el('div', { class: 'panel' }, 'Completion rate of items with runs ', progress(rate, 100)));
  const b = d.budget;
  const rows = [];
  const walk = (n, depth) => {
    if (!n || typeof n !== 'object') return;
    if (n.target) rows.push({ label: `${'  '.repeat(depth)}${n.target}`, a: n.allocated_tokens || 0, b: n.spent_tokens || 0 });
    for (const c of n.children || []) walk(c, depth + 1);
  };
  for (const n of list(b).length ? list(b) : [b]) walk(n, 0);
  if (failed(b)) main.append(failure(b));
  else if (rows.length) main.append(pairChart('Budgets down the tree (tokens)', rows, 'allocated', 'spent'));
  else main.append(el('p', { class: 'muted' }, 'No budgets set (bd budget set).'));
}

async function issue(main, id) {
  const d = await api('issue', { id });
  const i = d.issue;
  main.append(el('h1', {}, `${i.id}: ${i.title}`));
  const acts = [];
  if (i.status === 'closed') acts.push(button('Reopen', () => act('reopen', { id: i.id })));
  else acts.push(button('Close', () => act('close', { id: i.id, reason: 'closed from the dashboard' })));
  if (i.status === 'in_progress' && i.assignee) acts.push(button('Release claim', () => act('release', { id: i.id })));
  if (i.issue_type === 'gate' && i.status !== 'closed' && i.await_type === 'human') acts.push(button('Resolve gate', () => act('gate_resolve', { id: i.id })));
  if (i.status === 'open' && state.agents.length) acts.push(slingControl(i.id));
  main.append(el('p', {}, chip(i.status, 'st-' + i.status), chip(`P${i.priority}`), chip(i.issue_type), i.assignee ? chip(`@${i.assignee}`) : '', (i.labels || []).map((l) => chip(l)), ' ', acts));
  if (i.molecule) main.append(el('p', {}, 'Molecule ', issueLink(i.molecule.id, i.molecule.title), i.molecule.formula ? ` (formula ${i.molecule.formula})` : '', i.molecule.step ? `, step ${i.molecule.step}` : '', ' ', progress(i.molecule.completed, i.molecule.total)));
  if (i.await_type) main.append(el('p', {}, `Gate: ${i.await_type} ${i.await_id || ''}`));
  if (i.description) main.append(el('section', { class: 'panel' }, el('h2', {}, 'Description'), markdown(i.description)));
  if (i.acceptance_criteria) main.append(el('section', { class: 'panel' }, el('h2', {}, 'Acceptance'), markdown(i.acceptance_criteria)));
  const deps = (i.depends_on || []).map((x) => el('div', {}, `${x.dependency_type}: `, issueLink(x.id, x.title), ` (${x.status})`));
  const rdeps = (i.dependents || []).map((x) => el('div', {}, `${x.dependency_type}: `, issueLink(x.id, x.title), ` (${x.status})`));
  if (deps.length || rdeps.length) main.append(el('section', { class: 'panel' }, deps.length ? el('h2', {}, 'Dependencies') : '', deps, rdeps.length ? el('h2', {}, 'Dependents') : '', rdeps));
  const comments = i.comments || [];
  const checkpoints = comments.filter((c) => /^checkpoint:/i.test(c.text || ''));
  if (checkpoints.length) main.append(el('section', { class: 'panel' }, el('h2', {}, 'Latest checkpoint'), markdown(checkpoints[checkpoints.length - 1].text)));
  main.append(el('section', { class: 'panel' }, el('h2', {}, `Comments (${comments.length})`),
    comments.map((c) => el('article', { class: 'card' }, el('div', { class: 'meta' }, `${c.author} · ${when(c.created_at)}`), markdown(c.text)))));
  const runs = list(d.runs);
  main.append(el('section', { class: 'panel' }, el('h2', {}, `Runs (${runs.length})`), failed(d.runs) ? failure(d.runs) : '',
    runs.length ? el('table', {}, el('tbody', {}, runs.map((r) => el('tr', {}, el('td', {}, when(r.started_at)), el('td', {}, r.agent), el('td', { class: r.outcome === 'success' ? 'st-done' : 'st-failed' }, r.outcome),
      el('td', {}, r.tokens == null ? '' : `${r.tokens} tokens`), el('td', {}, r.branch || ''), el('td', {}, el('pre', { class: 'out' }, (r.tail || []).slice(-5).join('\n'))))))) : ''));
  const diffBox = el('div', { class: 'diff' });
  const log = d.log;
  main.append(el('section', { class: 'panel' }, el('h2', {}, 'History'), failed(log) ? failure(log) : '',
    el('table', {}, el('tbody', {}, ((log && log.entries) || []).map((e) => el('tr', {},
      el('td', {}, when(e.time)), el('td', {}, e.subject), el('td', {}, e.kind), el('td', { class: 'muted' }, (e.fields || []).map((f) => f.field).join(', ')),
      el('td', {}, button('Diff', () => showDiff(e.commit, diffBox))))))), diffBox));
}

async function showDiff(rev, box) {
  box.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  const d = await api('diff', { rev });
  const df = d.diff;
  if (failed(df)) { box.replaceChildren(failure(df)); return; }
  box.replaceChildren(el('h2', {}, `Tracker diff of ${String(rev).slice(0, 12)}`),
    (df.changes || []).map((c) => el('div', { class: 'card' }, el('strong', {}, `${c.kind} `), issueLink(c.id, c.title),
      (c.fields || []).map((f) => el('div', {}, el('code', {}, f.field), ': ', el('span', { class: 'del' }, JSON.stringify(f.before)), ' → ', el('span', { class: 'add' }, JSON.stringify(f.after)))))));
}

// ---------------------------------------------------------------- routing

const routes = { '/': overview, '/board': board, '/work': work, '/mail': mail, '/metrics': metrics };

async function render() {
  const main = document.getElementById('main');
  const path = location.pathname;
  for (const a of document.querySelectorAll('nav a')) a.setAttribute('aria-current', a.getAttribute('href') === path ? 'page' : 'false');
  const fresh = el('div', { id: 'page' });
  try {
    if (path.startsWith('/issue/')) await issue(fresh, decodeURIComponent(path.slice(7)));
    else await (routes[path] || overview)(fresh);
    keepForms(main, fresh);
    main.replaceChildren(fresh);
  } catch (e) {
    main.replaceChildren(el('p', { class: 'failed' }, String(e.message || e)));
  }
}

// A live refresh keeps what a person was typing: the fields of the old
// page's forms (by form and field name), and the focus.
function keepForms(old, fresh) {
  const key = (f) => `${f.form ? f.form.getAttribute('aria-label') : ''}|${f.name}`;
  const values = new Map();
  let focused = null;
  for (const f of old.querySelectorAll('form [name]')) {
    values.set(key(f), f.value);
    if (f === document.activeElement) focused = key(f);
  }
  for (const f of fresh.querySelectorAll('form [name]')) {
    const k = key(f);
    if (values.has(k)) f.value = values.get(k);
    if (k === focused) requestAnimationFrame(() => f.focus());
  }
}

function go(path) {
  history.pushState({}, '', path);
  render().then(() => document.getElementById('main').focus());
}

async function workspaces() {
  const d = await api('workspaces');
  const sel = document.getElementById('ws');
  sel.replaceChildren(...d.workspaces.map((w, k) => el('option', { value: k, selected: k === state.ws }, w)));
  if (state.ws >= d.workspaces.length) state.ws = 0;
  sel.onchange = () => { state.ws = Number(sel.value); localStorage.setItem('bd-ws', String(state.ws)); render(); };
}

function live() {
  const badge = document.getElementById('live');
  const es = new EventSource('/api/events');
  let pending = null;
  es.addEventListener('version', () => { badge.textContent = 'live'; badge.classList.add('on'); });
  es.addEventListener('change', () => {
    // Changes come in bursts (a write touches several files): one render.
    clearTimeout(pending);
    pending = setTimeout(render, 100);
  });
  es.onerror = () => { badge.textContent = 'reconnecting…'; badge.classList.remove('on'); };
}

function theme() {
  const saved = localStorage.getItem('bd-theme');
  if (saved) document.documentElement.dataset.theme = saved;
  document.getElementById('theme').onclick = () => {
    const dark = document.documentElement.dataset.theme === 'dark' ||
      (!document.documentElement.dataset.theme && matchMedia('(prefers-color-scheme: dark)').matches);
    const next = dark ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    localStorage.setItem('bd-theme', next);
  };
}

document.addEventListener('DOMContentLoaded', () => {
  theme();
  for (const a of document.querySelectorAll('nav a')) a.addEventListener('click', (ev) => { ev.preventDefault(); go(a.getAttribute('href')); });
  document.addEventListener('keydown', (ev) => {
    if (ev.target.closest && ev.target.closest('input, textarea, select')) return;
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const a = document.querySelector(`nav a[data-key="${ev.key}"]`);
    if (a) { ev.preventDefault(); go(a.getAttribute('href')); }
  });
  window.addEventListener('popstate', render);
  workspaces().catch((e) => toast(String(e.message || e)));
  render();
  live();
});
