// The imagegate console: a read-only view of the verdict API (docs/api.md "Console").
// Safety by construction: every value that comes from the server (image names, CVE titles, reasons,
// labels) is inserted with textContent or createTextNode, never as HTML; no eval, no inline handlers.
// The token is kept in sessionStorage (this tab only) and sent as a bearer token on every data call.
'use strict';

const TOKEN_KEY = 'imagegate.console.token';
const PAGE = 25;
const DECISIONS = ['allowed', 'warned', 'denied', 'error'];
const state = {
  view: 'running',
  running: { offset: 0, total: 0 },
  decisions: { before: 0, next: null },
  timer: null,
};

// ---- DOM helpers: text only ----------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);

// el('td', {class: 'mono'}, 'text', childNode, ...): attributes are set with setAttribute (never `on*`),
// children are nodes or text.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name.startsWith('on')) throw new Error('no inline handlers');
    node.setAttribute(name, String(value));
  }
  for (const child of children) append(node, child);
  return node;
}

function append(node, child) {
  if (child === null || child === undefined) return;
  if (Array.isArray(child)) { child.forEach((c) => append(node, c)); return; }
  node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

function show(node, visible) { node.hidden = !visible; }

function badge(text, kind) { return el('span', { class: 'badge ' + (kind || text) }, text); }

function shortDigest(d) { return d && d.length > 19 ? d.slice(0, 19) + '…' : (d || ''); }

function age(seconds) {
  if (seconds < 120) return seconds + ' s';
  if (seconds < 7200) return Math.round(seconds / 60) + ' min';
  if (seconds < 172800) return Math.round(seconds / 3600) + ' h';
  return Math.round(seconds / 86400) + ' d';
}

// "2026-12-07T22:11:05Z" as "2026-12-07 22:11:05Z" (an RFC 3339 time from the server, shown as text).
function when(t) { return typeof t === 'string' ? t.replace('T', ' ') : ''; }

function fillTable(table, headings, rows) {
  const head = table.tHead;
  const body = table.tBodies[0];
  clear(head);
  clear(body);
  head.appendChild(el('tr', {}, headings.map((h) => el('th', {}, h))));
  rows.forEach((r) => body.appendChild(r));
}

// ---- the API -------------------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new ApiError(401, 'no token');
  const answer = await fetch(path, {
    headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
    cache: 'no-store',
    credentials: 'omit',
  });
  let body = null;
  try { body = await answer.json(); } catch (e) { body = null; }
  if (!answer.ok) {
    const message = body && typeof body.error === 'string' ? body.error : answer.statusText;
    throw new ApiError(answer.status, message);
  }
  return body;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

function showError(e) {
  if (e instanceof ApiError && e.status === 401) { signOut('The token was refused: ' + e.message); return; }
  const box = $('error');
  box.textContent = 'Error: ' + (e && e.message ? e.message : String(e));
  show(box, true);
}

function clearError() { show($('error'), false); $('error').textContent = ''; }

// ---- sign in / out -------------------------------------------------------------------------------------
function wipeData() {
  ['running-table', 'decisions-table'].forEach((id) => { clear($(id).tHead); clear($(id).tBodies[0]); });
  ['violations-groups', 'policy-body', 'counts', 'chart', 'decision-detail'].forEach((id) => clear($(id)));
  ['running-status', 'violations-status', 'decisions-replica'].forEach((id) => { $(id).textContent = ''; });
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
  wipeData();
  [$('tabs'), $('views'), $('summary'), $('error')].forEach((n) => show(n, false));
  show($('login'), true);
  const box = $('login-error');
  box.textContent = message || '';
  show(box, Boolean(message));
}

async function signIn() {
  try {
    await loadSummary();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      signOut('The token was refused (' + e.status + '): ' + e.message);
    } else {
      signOut('The server could not be reached: ' + e.message);
    }
    return;
  }
  show($('login'), false);
  show($('login-error'), false);
  [$('tabs'), $('views'), $('summary')].forEach((n) => show(n, true));
  select(state.view);
  state.timer = setInterval(refresh, 5000);
}

// ---- summary and chart ---------------------------------------------------------------------------------
async function loadSummary() {
  const s = await api('/api/v1/summary');
  const counts = $('counts');
  clear(counts);
  for (const d of DECISIONS) {
    counts.appendChild(el('div', { class: 'count count-' + d, id: 'count-' + d },
      el('b', {}, String(s.lastHourTotals[d])), d + ' (last hour)'));
  }
  drawChart($('chart'), s.lastHour);
  $('decisions-replica').textContent = 'Reviews answered by replica "' + s.replica + '" (each replica keeps its own ' +
    s.recent.capacity + ' most recent; ' + s.recent.kept + ' kept now). Policy ' + s.policyVersion + '.';
}

// Stacked bars, one per minute, drawn by hand in SVG (no charting library).
function drawChart(svg, minutes) {
  const NS = 'http://www.w3.org/2000/svg';
  const svgEl = (tag, attrs, text) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    return n;
  };
  clear(svg);
  const left = 34, top = 8, width = 640 - left - 110, height = 150 - top - 22;
  const totals = minutes.map((m) => DECISIONS.reduce((sum, d) => sum + m[d], 0));
  const max = Math.max(1, ...totals);
  const step = width / minutes.length;
  svg.appendChild(svgEl('line', { class: 'axis', x1: left, y1: top + height, x2: left + width, y2: top + height }));
  svg.appendChild(svgEl('line', { class: 'axis', x1: left, y1: top, x2: left, y2: top + height }));
  svg.appendChild(svgEl('text', { x: left - 4, y: top + 8, 'text-anchor': 'end' }, String(max)));
  svg.appendChild(svgEl('text', { x: left - 4, y: top + height, 'text-anchor': 'end' }, '0'));
  svg.appendChild(svgEl('text', { x: left, y: top + height + 14 }, '-60 min'));
  svg.appendChild(svgEl('text', { x: left + width, y: top + height + 14, 'text-anchor': 'end' }, 'now'));
  minutes.forEach((m, i) => {
    let y = top + height;
    for (const d of DECISIONS) {
      if (!m[d]) continue;
      const h = (m[d] / max) * height;
      y -= h;
      const bar = svgEl('rect', { class: 'bar-' + d, x: left + i * step + 1, y: y, width: Math.max(step - 2, 1), height: h });
      bar.appendChild(svgEl('title', {}, m.minute + ': ' + m[d] + ' ' + d));
      svg.appendChild(bar);
    }
  });
  DECISIONS.forEach((d, i) => {
    svg.appendChild(svgEl('rect', { class: 'bar-' + d, x: left + width + 14, y: top + 6 + i * 18, width: 10, height: 10 }));
    svg.appendChild(svgEl('text', { x: left + width + 30, y: top + 15 + i * 18 }, d));
  });
}

// ---- views ---------------------------------------------------------------------------------------------
function select(view) {
  state.view = view;
  document.querySelectorAll('button.tab').forEach((b) => b.classList.toggle('active', b.dataset.view === view));
  document.querySelectorAll('section.view').forEach((s) => show(s, s.id === 'view-' + view));
  return loadView();
}

// Each load draws only if no later load started meanwhile: a slow answer never overwrites a newer one.
let loads = 0;
function current(ticket) { return ticket === loads; }

async function loadView() {
  clearError();
  const ticket = ++loads;
  try {
    if (state.view === 'running') await loadRunning(ticket);
    else if (state.view === 'violations') await loadViolations(ticket);
    else if (state.view === 'decisions') await loadDecisions(ticket);
    else await loadPolicy(ticket);
  } catch (e) {
    if (current(ticket)) showError(e);
  }
}

async function refresh() {
  try { await loadSummary(); } catch (e) { showError(e); return; }
  if (state.view === 'decisions' && !state.decisions.before) await loadView();
}

function verdictCell(v) {
  if (!v) return el('td', {}, badge('no verdict', 'NONE'));
  return el('td', {}, badge(v.maxSeverity), ' ', el('span', { class: 'muted' }, 'scanned ' + age(v.ageSeconds) + ' ago'));
}

function signaturesCell(s) {
  return el('td', {}, s.status, s.anchors.length ? el('span', { class: 'muted' }, ' (' + s.anchors.join(', ') + ')') : null);
}

async function loadRunning(ticket) {
  const group = $('running-group').value;
  const params = {
    search: $('running-search').value.trim(), namespace: $('running-namespace').value.trim(),
    cve: $('running-cve').value.trim(), limit: PAGE, offset: state.running.offset,
  };
  const page = await api('/api/v1/inventory/' + group + query(params));
  if (!current(ticket)) return;
  state.running.total = page.total;
  let rows;
  if (group === 'digests') {
    rows = page.items.map((d) => el('tr', { 'data-digest': d.digest },
      el('td', { class: 'mono digest', title: d.digest }, shortDigest(d.digest)),
      el('td', { class: 'image' }, el('ul', { class: 'plain' }, d.images.map((i) => el('li', {}, i)))),
      el('td', {}, d.namespaces.join(', ')), el('td', {}, String(d.workloads)),
      verdictCell(d.verdict), signaturesCell(d.signatures), el('td', {}, when(d.firstSeen)), el('td', {}, when(d.lastSeen))));
    fillTable($('running-table'), ['Digest', 'Images', 'Namespaces', 'Workloads', 'Verdict', 'Signatures',
      'First seen', 'Last seen'], rows);
  } else {
    rows = page.items.map((w) => el('tr', {},
      el('td', {}, w.namespace), el('td', {}, w.kind), el('td', {}, w.name),
      el('td', {}, el('ul', { class: 'plain' }, w.images.map((i) => el('li', { class: 'image' }, i.image, ' ',
        el('span', { class: 'mono muted', title: i.digest }, shortDigest(i.digest)), ' ',
        i.verdict ? badge(i.verdict.maxSeverity) : badge('no verdict', 'NONE'))))),
      el('td', {}, when(w.firstSeen)), el('td', {}, when(w.lastSeen))));
    fillTable($('running-table'), ['Namespace', 'Kind', 'Name', 'Images', 'First seen', 'Last seen'], rows);
  }
  const from = page.total ? page.offset + 1 : 0;
  $('running-status').textContent = from + '–' + (page.offset + page.items.length) + ' of ' + page.total + ' ' +
    group + (page.truncated ? ' (the inventory holds more entries than one view reads: narrow the search)' : '');
  $('running-prev').disabled = page.offset === 0;
  $('running-next').disabled = page.offset + page.items.length >= page.total;
}

async function loadViolations(ticket) {
  const answer = await api('/api/v1/inventory/violations');
  if (!current(ticket)) return;
  const box = $('violations-groups');
  clear(box);
  $('violations-status').textContent = answer.violations.length + ' workload images violate policy ' +
    answer.policyVersion + (answer.truncated ? ' (truncated)' : '');
  for (const g of answer.groups) {
    box.appendChild(el('h3', {}, badge(g.rule || 'no rule', 'denied'), ' ', g.reason));
    const table = el('table', {}, el('thead'), el('tbody'));
    fillTable(table, ['Namespace', 'Kind', 'Name', 'Image', 'Digest', 'Last seen'], g.workloads.map((w) => el('tr', {},
      el('td', {}, w.namespace), el('td', {}, w.kind), el('td', {}, w.name), el('td', { class: 'image' }, w.image),
      el('td', { class: 'mono digest', title: w.digest }, shortDigest(w.digest)), el('td', {}, when(w.lastSeen)))));
    box.appendChild(table);
  }
  if (!answer.groups.length) box.appendChild(el('p', {}, 'Nothing running violates the policy in force.'));
}

async function loadDecisions(ticket) {
  const params = {
    decision: $('decisions-decision').value, namespace: $('decisions-namespace').value.trim(),
    rule: $('decisions-rule').value.trim(), before: state.decisions.before || '', limit: PAGE,
  };
  const page = await api('/api/v1/decisions' + query(params));
  if (!current(ticket)) return;
  state.decisions.next = page.next;
  const rows = page.items.map((d) => {
    const e = d.entry;
    const row = el('tr', { class: 'clickable decision-row', 'data-id': d.id, 'data-decision': d.decision },
      el('td', {}, when(e.time)), el('td', {}, badge(d.decision)), el('td', {}, e.namespace),
      el('td', {}, e.kind + ' ' + e.name), el('td', {}, e.operation), el('td', {}, d.rules.join(', ')),
      el('td', {}, e.message || ''));
    row.addEventListener('click', () => openDecision(d.id));
    return row;
  });
  fillTable($('decisions-table'), ['Time', 'Decision', 'Namespace', 'Object', 'Operation', 'Rules', 'Message'], rows);
  $('decisions-next').disabled = !page.next;
  $('decisions-first').disabled = !state.decisions.before;
}

async function openDecision(id) {
  const box = $('decision-detail');
  try {
    const d = await api('/api/v1/decisions/' + encodeURIComponent(id));
    const e = d.entry;
    clear(box);
    box.appendChild(el('h3', {}, badge(d.decision), ' ', e.kind + ' ' + e.namespace + '/' + e.name));
    box.appendChild(el('p', { class: 'muted' }, e.time + ' · ' + e.operation + ' by ' + e.user + ' · policy ' +
      e.policyVersion + ' · ' + e.durationMs + ' ms' + (e.dryRun ? ' · dry run' : '')));
    if (e.message) box.appendChild(el('p', {}, e.message));
    const table = el('table', { id: 'decision-images' }, el('thead'), el('tbody'));
    fillTable(table, ['Container', 'Image', 'Digest', 'Decision', 'Rule', 'Reasons', 'Evidence'], e.images.map((i) => el('tr', {},
      el('td', {}, i.container + (i.containerKind && i.containerKind !== 'containers' ? ' (' + i.containerKind + ')' : '')),
      el('td', { class: 'image' }, i.image), el('td', { class: 'mono digest', title: i.digest }, shortDigest(i.digest)),
      el('td', {}, badge(i.decision)), el('td', {}, i.rule),
      el('td', {}, el('ul', { class: 'plain' }, (i.reasons || []).map((r) => el('li', {}, r)))),
      el('td', {}, el('ul', { class: 'plain' }, evidenceLines(i).map((r) => el('li', {}, r)))))));
    box.appendChild(table);
    box.appendChild(el('details', {}, el('summary', {}, 'The decision-log line'), el('pre', {}, JSON.stringify(e, null, 2))));
    show(box, true);
    box.scrollIntoView();
  } catch (err) {
    showError(err);
  }
}

function evidenceLines(image) {
  const lines = [];
  for (const [key, value] of Object.entries(image)) {
    if (['container', 'containerKind', 'image', 'digest', 'decision', 'rule', 'reasons', 'normalized'].includes(key)) continue;
    if (Array.isArray(value)) {
      value.forEach((v) => lines.push(key + ': ' + (typeof v === 'object' ? Object.values(v).join(' · ') : v)));
    } else if (value && typeof value === 'object') {
      lines.push(key + ': ' + Object.values(value).join(' · '));
    } else {
      lines.push(key + ': ' + value);
    }
  }
  return lines;
}

async function loadPolicy(ticket) {
  const p = await api('/api/v1/policy');
  if (!current(ticket)) return;
  const box = $('policy-body');
  clear(box);
  box.appendChild(el('h3', {}, 'Policy ' + (p.name || '(unnamed)')));
  box.appendChild(el('p', { id: 'policy-version' }, 'Version ' + p.version + ', loaded ' + p.loadedAt + '. Mode ' +
    p.mode + ', failurePolicy ' + p.failurePolicy + ', noMatch ' + p.noMatch + '.'));
  if (p.allowedRegistries.length) box.appendChild(el('p', {}, 'Registries allowed: ' + p.allowedRegistries.join(', ')));
  if (p.exemptions.namespaces.length || p.exemptions.images.length) {
    box.appendChild(el('p', {}, 'Exempt: namespaces ' + (p.exemptions.namespaces.join(', ') || '-') + '; images ' +
      (p.exemptions.images.join(', ') || '-')));
  }
  const rules = el('table', { id: 'policy-rules' }, el('thead'), el('tbody'));
  fillTable(rules, ['#', 'Rule', 'Images', 'Namespaces', 'Mode', 'Requires'], p.rules.map((r, i) => el('tr', {},
    el('td', {}, String(i + 1)), el('td', {}, r.name), el('td', {}, r.match.images.join(', ')),
    el('td', {}, r.match.namespaces.join(', ') || 'all'), el('td', {}, r.mode || p.mode),
    el('td', {}, el('ul', { class: 'plain' }, requirements(r).map((x) => el('li', {}, x)))))));
  box.appendChild(el('h3', {}, 'Rules, in order'));
  box.appendChild(rules);
  const anchors = el('table', { id: 'policy-anchors' }, el('thead'), el('tbody'));
  fillTable(anchors, ['Trust anchor', 'Kind', 'Fingerprint'], p.trustAnchors.map((a) => el('tr', {},
    el('td', {}, a.name), el('td', {}, a.kind), el('td', { class: 'mono' }, a.fingerprint))));
  box.appendChild(el('h3', {}, 'Trust anchors'));
  box.appendChild(anchors);
}

function requirements(r) {
  const out = [];
  if (r.requireDigest) out.push('a digest');
  if (r.deniedTags.length) out.push('no tag ' + r.deniedTags.join(', '));
  if (r.signatures) out.push(r.signatures.threshold + ' of ' + r.signatures.anchors.join(', ') + ' signatures');
  if (r.vulnerabilities) {
    const v = r.vulnerabilities;
    out.push('scan verdict' + (v.maxSeverity ? ': nothing above ' + v.maxSeverity : '') +
      (v.maxAgeSeconds ? ', at most ' + age(v.maxAgeSeconds) + ' old' : '') + ', missing: ' + v.onMissing);
  }
  if (r.pinDigest) out.push('pinned to its digest');
  return out.length ? out : ['nothing beyond a match'];
}

// ---- wiring --------------------------------------------------------------------------------------------
function wire() {
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    $('token').value = '';
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    signIn();
  });
  $('logout').addEventListener('click', () => signOut(''));
  $('refresh').addEventListener('click', () => { loadSummary().catch(showError); loadView(); });
  document.querySelectorAll('button.tab').forEach((b) => b.addEventListener('click', () => select(b.dataset.view)));
  $('running-form').addEventListener('submit', (event) => { event.preventDefault(); state.running.offset = 0; loadView(); });
  $('running-group').addEventListener('change', () => { state.running.offset = 0; loadView(); });
  $('running-prev').addEventListener('click', () => { state.running.offset = Math.max(0, state.running.offset - PAGE); loadView(); });
  $('running-next').addEventListener('click', () => { state.running.offset += PAGE; loadView(); });
  $('decisions-form').addEventListener('submit', (event) => { event.preventDefault(); state.decisions.before = 0; loadView(); });
  $('decisions-next').addEventListener('click', () => { state.decisions.before = state.decisions.next; loadView(); });
  $('decisions-first').addEventListener('click', () => { state.decisions.before = 0; loadView(); });
  if (sessionStorage.getItem(TOKEN_KEY)) signIn(); else signOut('');
}

document.addEventListener('DOMContentLoaded', wire);
