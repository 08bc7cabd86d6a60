// Cicero operator board: a small hash-routed page over the JSON API. No build step, no
// dependencies. The route and its filter live in the URL (#/jobs?state=failed&queue=...), so a
// view can be shared; SSE events refresh the current view without a reload.
"use strict";

const TZ = "Asia/Jakarta";
const STATES = ["pending", "running", "done", "failed", "cancelled"];
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// ------------------------------------------------------------------ session, theme

const session = {
  get token() { return sessionStorage.getItem("cicero.token") || ""; },
  get name() { return sessionStorage.getItem("cicero.name") || ""; },
  set(token, name) { sessionStorage.setItem("cicero.token", token); sessionStorage.setItem("cicero.name", name); },
  clear() { sessionStorage.removeItem("cicero.token"); sessionStorage.removeItem("cicero.name"); },
};

function applyTheme(t) {
  document.documentElement.dataset.theme = t;
  localStorage.setItem("cicero.theme", t);
}
applyTheme(localStorage.getItem("cicero.theme") ||
  (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
$("#theme").onclick = () => applyTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark");

// ------------------------------------------------------------------ helpers

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

const fmtFull = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const fmtShort = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false });
function when(t) { return t ? fmtFull.format(new Date(t)) + " WIB" : "—"; }
function hhmm(t) { return t ? fmtShort.format(new Date(t)) : ""; }
function ago(secs) {
  if (secs == null) return "—";
  const s = Math.round(secs);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.round(s / 60) + " min";
  if (s < 86400) return (s / 3600).toFixed(1) + " h";
  return (s / 86400).toFixed(1) + " d";
}
function badge(state) { return `<span class="badge" data-state="${esc(state)}">${esc(state)}</span>`; }
function pct(x) { return x == null ? "—" : (x * 100).toFixed(1) + "%"; }

// Jakarta has no DST: a <input type=datetime-local> value is read as +07:00 wall time.
function jakartaToIso(local) { return local ? new Date(local + ":00+07:00").toISOString() : ""; }
function isoToJakarta(iso) {
  if (!iso) return "";
  const d = new Date(new Date(iso).getTime() + 7 * 3600e3);
  return d.toISOString().slice(0, 16);
}

// WhatsApp formatting as the recipient sees it: *bold*, _italic_, ~strike~, ```mono```, line breaks.
function whatsapp(text) {
  let h = esc(text);
  h = h.replace(/```([\s\S]+?)```/g, "<code>$1</code>");
  h = h.replace(/(^|[\s(])\*(?!\s)([^*\n]+?)\*(?=$|[\s.,!?:;)])/gm, "$1<b>$2</b>");
  h = h.replace(/(^|[\s(])_(?!\s)([^_\n]+?)_(?=$|[\s.,!?:;)])/gm, "$1<i>$2</i>");
  h = h.replace(/(^|[\s(])~(?!\s)([^~\n]+?)~(?=$|[\s.,!?:;)])/gm, "$1<s>$2</s>");
  return h.replace(/\n/g, "<br>");
}

function toast(msg) {
  const d = document.createElement("div");
  d.textContent = msg;
  const box = $("#toast");
  box.append(d);
  while (box.children.length > 3) box.firstChild.remove();
  setTimeout(() => d.remove(), 3500);
}

function confirmAction(text) {
  const dlg = $("#confirm");
  $("#confirm-text").textContent = text;
  return new Promise(resolve => {
    dlg.onclose = () => resolve(dlg.returnValue === "ok");
    dlg.returnValue = "";
    dlg.showModal();
  });
}

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { "Authorization": "Bearer " + session.token };
  if (session.name) headers["X-Cicero-Actor"] = session.name;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) { logout("Your token was refused; sign in again."); throw new HttpError(401, "unauthorized"); }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!res.ok) throw new HttpError(res.status, (data && data.message) || `${res.status} ${res.statusText}`);
  return data;
}

async function act(label, fn) {
  try { const r = await fn(); toast(label); await render(); return r; }
  catch (e) { if (e.status !== 401) toast(`${label} failed: ${e.message}`); }
}

// ------------------------------------------------------------------ routing

function route() {
  const h = location.hash.replace(/^#\/?/, "");
  const [path, query] = h.split("?");
  const parts = (path || "overview").split("/");
  return { view: parts[0] || "overview", arg: parts[1], params: new URLSearchParams(query || "") };
}

function go(view, params) {
  const q = params ? new URLSearchParams([...params].filter(([, v]) => v !== "" && v != null)).toString() : "";
  location.hash = "#/" + view + (q ? "?" + q : "");
}

const views = {};
let rendering = 0;

async function render() {
  if (!session.token) return showLogin();
  $("#login").hidden = true;
  $("#nav").hidden = false;
  $("#logout").hidden = false;
  const r = route();
  $$("#nav a").forEach(a => a.classList.toggle("active", a.dataset.nav === (r.view === "job" ? "jobs" : r.view)));
  const fn = views[r.view] || views.overview;
  const ticket = ++rendering;
  try {
    const html = await fn(r);
    if (ticket !== rendering || html === undefined) return;
    const view = $("#view");
    // Keep the focused form field while a live refresh redraws the page.
    const focused = document.activeElement && document.activeElement.id;
    view.innerHTML = html;
    document.body.dataset.view = r.view;
    if (fn.after) fn.after(r);
    if (focused && $("#" + focused)) $("#" + focused).focus();
  } catch (e) {
    if (e.status !== 401 && ticket === rendering) $("#view").innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

function showLogin(message) {
  $("#view").innerHTML = "";
  $("#nav").hidden = true;
  $("#logout").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message || "";
  document.body.dataset.view = "login";
}

function logout(message) { session.clear(); stopLive(); showLogin(message); }

$("#login-form").onsubmit = async ev => {
  ev.preventDefault();
  const token = $("#login-token").value.trim();
  // Header values must be ASCII: other characters become "?".
  const name = $("#login-name").value.trim().replace(/[^\x20-\x7E]/g, "?").slice(0, 64);
  session.set(token, name);
  try {
    await api("GET", "/api/queues");
    $("#login-token").value = "";
    startLive();
    render();
  } catch (e) {
    session.clear();
    showLogin(e.status === 401 ? "That token was refused." : e.message);
  }
};
$("#logout").onclick = () => logout();
window.addEventListener("hashchange", render);

// ------------------------------------------------------------------ live updates (SSE)

let source = null, pending = null, busy = false, again = false;
function startLive() {
  stopLive();
  if (!session.token) return;
  source = new EventSource("/api/jobs/events?access_token=" + encodeURIComponent(session.token));
  source.onopen = () => { $("#live").textContent = "live"; $("#live").classList.add("on"); };
  source.onerror = () => { $("#live").textContent = "reconnecting"; $("#live").classList.remove("on"); };
  for (const kind of ["finished", "progress", "enqueued", "job"]) source.addEventListener(kind, refreshSoon);
}
function stopLive() {
  if (source) source.close();
  source = null;
  $("#live").textContent = "offline";
  $("#live").classList.remove("on");
}
// Bursts of events become one refresh; forms being filled in are not redrawn. Throttled, not
// debounced: on a busy server events never pause, and the page must still follow them.
function refreshSoon() {
  const v = route().view;
  if (v === "enqueue" || $("#confirm").open) return;
  if (pending) return;
  pending = setTimeout(liveRender, 400);
}
async function liveRender() {
  pending = null;
  // Someone typing in a filter field keeps their text: try again a little later.
  const a = document.activeElement;
  const typing = a && $("#view").contains(a) && (a.tagName === "TEXTAREA" || (a.tagName === "INPUT" && !/^(checkbox|radio|button|submit)$/.test(a.type)));
  if (typing) { refreshSoon(); return; }
  // A redraw still loading is not replaced by the next one (on a slow server, with events
  // arriving faster than a redraw loads, none would ever be shown): the next waits for it.
  if (busy) { again = true; return; }
  busy = true;
  try { await render(); } finally { busy = false; }
  if (again) { again = false; refreshSoon(); }
}

// ------------------------------------------------------------------ overview

function chart(buckets) {
  const w = 300, h = 70, n = buckets.length || 1, bw = w / n;
  const max = Math.max(1, ...buckets.map(b => b.done + b.failed));
  const bars = buckets.map((b, i) => {
    const hd = (b.done / max) * (h - 2), hf = (b.failed / max) * (h - 2);
    const title = `<title>${hhmm(b.at)}: ${b.done} done, ${b.failed} failed</title>`;
    return `<g>${title}<rect class="d" x="${i * bw}" y="${h - hd}" width="${Math.max(bw - 1, 1)}" height="${hd}"/>` +
      `<rect class="f" x="${i * bw}" y="${h - hd - hf}" width="${Math.max(bw - 1, 1)}" height="${hf}"/></g>`;
  }).join("");
  return `<svg class="chart" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="attempts per bucket">${bars}</svg>`;
}

views.overview = async r => {
  const win = r.params.get("window") === "day" ? "day" : "hour";
  const [q, s, w] = await Promise.all([api("GET", "/api/queues"), api("GET", "/api/stats?window=" + win), api("GET", "/api/workers")]);
  const series = Object.fromEntries(s.queues.map(x => [x.queue, x]));
  const cards = q.queues.map(x => {
    const st = series[x.queue] || { buckets: [], done: 0, failed: 0, failure_rate: null };
    const counts = STATES.map(k => `<a href="#/jobs?queue=${esc(x.queue)}&state=${k}">${badge(k)} ${x.counts[k] || 0}</a>`).join(" ");
    return `<div class="card" data-queue="${esc(x.queue)}">
      <div class="row"><h2 style="margin:0">${esc(x.queue)}</h2>
        ${x.paused ? '<span class="badge bad" data-paused="1">paused</span>' : '<span class="badge ok">running</span>'}
        <span style="flex:1"></span>
        <button type="button" data-${x.paused ? "resume" : "pause"}="${esc(x.queue)}">${x.paused ? "Resume" : "Pause"}</button></div>
      <div class="counts">${counts}</div>
      <div class="muted">Oldest due pending: ${ago(x.oldest_pending_secs)} · last ${win}: ${st.done} done, ${st.failed} failed attempts · failure rate ${pct(st.failure_rate)}</div>
      ${chart(st.buckets)}
      <div class="row muted" style="justify-content:space-between;font-size:11px"><span>${hhmm(s.from)}</span><span>now</span></div>
    </div>`;
  }).join("");
  const workers = w.workers.length ? w.workers.map(x => `<tr>
      <td>${esc(x.name)}</td><td class="hide-sm">${esc(x.host)} / ${x.pid}</td><td>${esc(x.queues.join(", "))}</td>
      <td>${when(x.last_seen)} <span class="${x.seconds_since_heartbeat > 60 ? "error" : "muted"}">(${ago(x.seconds_since_heartbeat)} ago)</span></td>
      <td class="hide-sm">${when(x.started_at)}</td></tr>`).join("")
    : `<tr><td colspan="5" class="muted">No worker is alive.</td></tr>`;
  return `<div class="row"><h1>Overview</h1><span style="flex:1"></span>
      <a href="#/overview?window=hour" class="badge ${win === "hour" ? "ok" : ""}">last hour</a>
      <a href="#/overview?window=day" class="badge ${win === "day" ? "ok" : ""}">last day</a></div>
    <div class="grid">${cards}</div>
    <h2>Workers alive</h2>
    <div class="table-wrap"><table><thead><tr><th>Worker</th><th class="hide-sm">Host / pid</th><th>Queues</th><th>Last heartbeat</th><th class="hide-sm">Started</th></tr></thead>
    <tbody>${workers}</tbody></table></div>`;
};
views.overview.after = () => {
  $$("[data-pause]").forEach(b => b.onclick = () => act(`Queue ${b.dataset.pause} paused`, () => api("POST", `/api/queues/${b.dataset.pause}/pause`)));
  $$("[data-resume]").forEach(b => b.onclick = () => act(`Queue ${b.dataset.resume} resumed`, () => api("POST", `/api/queues/${b.dataset.resume}/resume`)));
};

// ------------------------------------------------------------------ jobs list

let catalogue = null;
async function getCatalogue() { return catalogue || (catalogue = await api("GET", "/api/catalogue")); }

const FILTER_KEYS = ["state", "queue", "kind", "q", "client_id", "created_after", "created_before"];

function filterFrom(params) {
  const f = {};
  for (const k of FILTER_KEYS) if (params.get(k)) f[k] = params.get(k);
  return f;
}

function jobsTable(jobs) {
  if (!jobs.length) return `<p class="muted">No job matches.</p>`;
  const rows = jobs.map(j => `<tr class="clickable" data-job-id="${j.id}">
      <td><a href="#/job/${j.id}">#${j.id}</a></td><td>${badge(j.state)}</td><td>${esc(j.kind)}</td>
      <td class="hide-sm">${esc(j.queue)}</td><td class="hide-sm">${j.attempt}/${j.max_attempts}</td>
      <td>${when(j.created_at)}</td>
      <td class="hide-sm"><code>${esc(JSON.stringify(j.payload).slice(0, 80))}</code>${j.last_error ? `<div class="error">${esc(j.last_error.slice(0, 120))}</div>` : ""}</td></tr>`).join("");
  return `<div class="table-wrap"><table id="jobs-table"><thead><tr><th>Id</th><th>State</th><th>Kind</th><th class="hide-sm">Queue</th><th class="hide-sm">Attempt</th><th>Created</th><th class="hide-sm">Payload / last error</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function pager(view, params, page, total, perPage) {
  const last = Math.max(1, Math.ceil(total / perPage));
  const link = p => { const q = new URLSearchParams(params); q.set("page", p); return `#/${view}?${q}`; };
  return `<div class="row pager">${page > 1 ? `<a href="${link(page - 1)}">← newer</a>` : ""}
    <span class="muted">page ${page} of ${last} · ${total} jobs</span>${page < last ? `<a href="${link(page + 1)}">older →</a>` : ""}</div>`;
}

function listQuery(params) {
  const q = new URLSearchParams(filterFrom(params));
  q.set("page", params.get("page") || "1");
  q.set("per_page", "50");
  return q;
}

views.jobs = async r => {
  const [cat, page] = await Promise.all([getCatalogue(), api("GET", "/api/jobs?" + listQuery(r.params))]);
  const p = r.params;
  const opt = (list, cur) => `<option value="">any</option>` + list.map(v => `<option ${v === cur ? "selected" : ""}>${esc(v)}</option>`).join("");
  return `<h1>Jobs</h1>
    <form id="filters" class="filters card">
      <label>State <select id="f-state">${opt(STATES, p.get("state"))}</select></label>
      <label>Queue <select id="f-queue">${opt(cat.queues, p.get("queue"))}</select></label>
      <label>Kind <select id="f-kind">${opt(cat.kinds.map(k => k.kind), p.get("kind"))}</select></label>
      <label>Payload text <input id="f-q" value="${esc(p.get("q") || "")}" placeholder="e.g. POLRES_KEDIRI"></label>
      <label>Client id <input id="f-client" value="${esc(p.get("client_id") || "")}"></label>
      <label>Created after (WIB) <input id="f-after" type="datetime-local" value="${isoToJakarta(p.get("created_after"))}"></label>
      <label>Created before (WIB) <input id="f-before" type="datetime-local" value="${isoToJakarta(p.get("created_before"))}"></label>
      <label>&nbsp;<button id="f-apply" class="primary" type="submit">Apply</button></label>
    </form>
    <div class="row" style="margin-bottom:8px">
      <span class="muted">For everything matching this filter:</span>
      <button type="button" id="bulk-retry" data-bulk="retry">Retry all</button>
      <button type="button" id="bulk-cancel" data-bulk="cancel">Cancel all</button>
      <button type="button" id="bulk-delete" data-bulk="delete" class="danger">Delete all</button>
    </div>
    ${jobsTable(page.jobs)}${pager("jobs", p, page.page, page.total, page.per_page)}`;
};
views.jobs.after = r => {
  $("#filters").onsubmit = ev => {
    ev.preventDefault();
    go("jobs", new URLSearchParams({
      state: $("#f-state").value, queue: $("#f-queue").value, kind: $("#f-kind").value, q: $("#f-q").value.trim(),
      client_id: $("#f-client").value.trim(), created_after: jakartaToIso($("#f-after").value), created_before: jakartaToIso($("#f-before").value),
    }));
  };
  bindBulk(filterFrom(r.params));
  bindRows();
};

function bindRows() {
  $$("tr[data-job-id]").forEach(tr => tr.onclick = ev => { if (ev.target.tagName !== "A") location.hash = "#/job/" + tr.dataset.jobId; });
}

// Dry run first: the operator confirms the real count.
function bindBulk(filter, scope) {
  $$("[data-bulk]").forEach(b => b.onclick = async () => {
    const action = b.dataset.bulk;
    try {
      const dry = await api("POST", "/api/jobs/bulk", { action, filter, dry_run: true });
      if (!dry.affected) { toast(`Nothing to ${action}: ${dry.matched} jobs match, none eligible.`); return; }
      const ok = await confirmAction(`${action[0].toUpperCase() + action.slice(1)} ${dry.affected} of ${dry.matched} matching jobs${scope ? " " + scope : ""}?`);
      if (!ok) return;
      const res = await api("POST", "/api/jobs/bulk", { action, filter, dry_run: false });
      toast(`${action}: ${res.affected} jobs`);
      render();
    } catch (e) { if (e.status !== 401) toast(`${action} failed: ${e.message}`); }
  });
}

// ------------------------------------------------------------------ job detail

function attemptsTimeline(job) {
  const a = job.attempts || [];
  if (!a.length) return `<p class="muted">No attempt finished yet.</p>`;
  const t0 = Math.min(...a.map(x => +new Date(x.started_at)));
  const t1 = Math.max(...a.map(x => +new Date(x.finished_at)), t0 + 1);
  const colour = o => ({ done: "var(--ok)", retry: "var(--warn)", failed: "var(--bad)", lost: "var(--bad)", interrupted: "var(--idle)", cancelled: "var(--idle)" }[o] || "var(--idle)");
  const spans = a.map(x => {
    const l = Math.min(((+new Date(x.started_at) - t0) / (t1 - t0)) * 100, 98);
    const w = Math.min(Math.max(((+new Date(x.finished_at) - +new Date(x.started_at)) / (t1 - t0)) * 100, 2), 100 - l);
    return `<span style="left:${l}%;width:${w}%;background:${colour(x.outcome)}" title="attempt ${x.attempt} on ${esc(x.worker)}: ${esc(x.outcome)}">${x.attempt}</span>`;
  }).join("");
  // Two leases overlapping in time, or a lease lost to a dead worker, mean the work may have run twice.
  const flags = [];
  for (let i = 0; i < a.length; i++) for (let j = i + 1; j < a.length; j++) {
    if (+new Date(a[i].started_at) < +new Date(a[j].finished_at) && +new Date(a[j].started_at) < +new Date(a[i].finished_at))
      flags.push(`Attempts ${a[i].attempt} (${esc(a[i].worker)}) and ${a[j].attempt} (${esc(a[j].worker)}) overlapped: this job ran twice at once.`);
  }
  a.filter(x => x.outcome === "lost").forEach(x => flags.push(`Attempt ${x.attempt}: worker ${esc(x.worker)} stopped heartbeating and its lease was taken back; its side effects may have happened as well.`));
  const rows = a.map(x => `<tr><td>${x.attempt}</td><td>${esc(x.worker)}</td><td>${when(x.started_at)}</td><td>${when(x.finished_at)}</td>
      <td>${badge(x.outcome === "done" ? "done" : x.outcome === "retry" ? "pending" : "failed")} ${esc(x.outcome)}</td>
      <td>${x.error ? `<pre>${esc(x.error)}</pre>` : ""}</td></tr>`).join("");
  return `<div class="timeline" id="lease-timeline">${spans}</div>
    ${flags.map(f => `<div class="flag" data-flag="ran-twice">${f}</div>`).join("")}
    <div class="table-wrap"><table id="attempts"><thead><tr><th>#</th><th>Worker</th><th>Started</th><th>Finished</th><th>Outcome</th><th>Error</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

views.job = async r => {
  const j = await api("GET", "/api/jobs/" + encodeURIComponent(r.arg));
  const prog = j.progress && j.state === "running"
    ? `<h2>Progress</h2><div class="progress" id="progress"><div style="width:${(j.progress.fraction * 100).toFixed(0)}%"></div></div>
       <p class="muted">${(j.progress.fraction * 100).toFixed(0)}% · ${esc(j.progress.message || "")} · ${when(j.progress.at)}</p>` : "";
  const wa = j.kind === "whatsapp_send" && j.payload && typeof j.payload.text === "string"
    ? `<h2>Message as the recipient sees it</h2><div class="wa" id="wa-preview">${whatsapp(j.payload.text)}</div>
       <p class="muted">to ${esc(j.payload.chat_id || j.payload.to || "")}</p>` : "";
  // Only our own paths or http(s) links: never a javascript: URL from a result.
  const download = j.result && typeof j.result.download_url === "string" && /^(\/(?!\/)|https?:\/\/)/.test(j.result.download_url)
    ? `<p><a id="download" href="${esc(j.result.download_url)}" download>Download the export</a></p>` : "";
  const canRetry = j.state === "failed" || j.state === "cancelled";
  const canCancel = j.state === "pending" || j.state === "running";
  return `<div class="row"><h1>Job #${j.id} · ${esc(j.kind)}</h1><span id="job-state">${badge(j.state)}</span>
      <span style="flex:1"></span>
      <button type="button" id="btn-retry" ${canRetry ? "" : "disabled"}>Retry</button>
      <button type="button" id="btn-cancel" ${canCancel ? "" : "disabled"}>Cancel</button>
      <button type="button" id="btn-delete" class="danger" ${j.state === "running" ? "disabled" : ""}>Delete</button></div>
    <div class="card"><dl class="kv">
      <dt>Queue</dt><dd><a href="#/jobs?queue=${esc(j.queue)}">${esc(j.queue)}</a></dd>
      <dt>Attempt</dt><dd>${j.attempt} of ${j.max_attempts}</dd>
      <dt>Priority</dt><dd>${j.priority}</dd>
      <dt>Created</dt><dd>${when(j.created_at)}</dd>
      <dt>Run at</dt><dd>${when(j.run_at)}</dd>
      <dt>Started</dt><dd>${when(j.started_at)}</dd>
      <dt>Finished</dt><dd>${when(j.finished_at)}</dd>
      <dt>Lease holder</dt><dd>${esc(j.locked_by || "—")}</dd>
      ${j.waiting_for ? `<dt>Waiting for rate limit</dt><dd>${esc(j.waiting_for)}</dd>` : ""}
      ${j.cancel_requested_at ? `<dt>Cancel requested</dt><dd>${when(j.cancel_requested_at)}</dd>` : ""}
      ${j.unique_key ? `<dt>Unique key</dt><dd><code>${esc(j.unique_key)}</code></dd>` : ""}
    </dl></div>
    ${prog}${wa}${download}
    ${j.last_error ? `<h2>Last error</h2><pre class="error" id="last-error">${esc(j.last_error)}</pre>` : ""}
    <h2>Payload</h2><pre id="payload">${esc(JSON.stringify(j.payload, null, 2))}</pre>
    ${j.result != null ? `<h2>Result</h2><pre id="result">${esc(JSON.stringify(j.result, null, 2))}</pre>` : ""}
    <h2>Attempts and leases</h2>${attemptsTimeline(j)}`;
};
views.job.after = r => {
  const id = r.arg;
  $("#btn-retry").onclick = () => act(`Job ${id} retried`, () => api("POST", `/api/jobs/${id}/retry`));
  $("#btn-cancel").onclick = () => act(`Job ${id} cancelled`, () => api("POST", `/api/jobs/${id}/cancel`));
  $("#btn-delete").onclick = async () => {
    if (!(await confirmAction(`Delete job ${id} and its history?`))) return;
    try { await api("DELETE", `/api/jobs/${id}`); toast(`Job ${id} deleted`); go("jobs"); }
    catch (e) { if (e.status !== 401) toast(`Delete failed: ${e.message}`); }
  };
};

// ------------------------------------------------------------------ schedules

views.schedules = async () => {
  const s = await api("GET", "/api/schedules");
  const rows = s.schedules.map(x => `<tr data-schedule="${esc(x.name)}">
      <td><b>${esc(x.name)}</b><div class="muted"><code>${esc(x.cron)}</code> → ${esc(x.kind)}</div></td>
      <td><label class="switch"><input type="checkbox" data-toggle="${esc(x.name)}" ${x.active ? "checked" : ""}> <span>${x.active ? "on" : "off"}</span></label></td>
      <td>${x.next_runs.map(t => `<div>${when(t)}</div>`).join("") || `<span class="error">${esc(x.cron_error || "")}</span>`}</td>
      <td>${x.last_run ? `<a href="#/job/${x.last_run.job_id}">#${x.last_run.job_id}</a> ${badge(x.last_run.state)}<div class="muted">${when(x.last_run.created_at)}</div>${x.last_run.error ? `<div class="error">${esc(x.last_run.error.slice(0, 160))}</div>` : ""}` : '<span class="muted">never</span>'}</td>
      <td><button type="button" data-run="${esc(x.name)}">Run now</button></td></tr>`).join("");
  return `<h1>Schedules</h1><p class="muted">Times in ${esc(s.timezone)} (WIB). Switching an entry off writes <code>cron_job_config</code>, which every scheduler checks at each tick.</p>
    <div class="table-wrap"><table id="schedules"><thead><tr><th>Entry</th><th>On</th><th>Next runs</th><th>Last run</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
};
views.schedules.after = () => {
  $$("[data-toggle]").forEach(c => c.onchange = () => {
    const name = c.dataset.toggle, on = c.checked;
    act(`Schedule ${name} switched ${on ? "on" : "off"}`, () => api("POST", `/api/schedules/${name}/${on ? "enable" : "disable"}`));
  });
  $$("[data-run]").forEach(b => b.onclick = async () => {
    if (!(await confirmAction(`Run ${b.dataset.run} now?`))) return;
    act(`Schedule ${b.dataset.run} enqueued`, () => api("POST", `/api/schedules/${b.dataset.run}/run`));
  });
};

// ------------------------------------------------------------------ rate limits, WhatsApp

async function optional(path) {
  try { return await api("GET", path); } catch (e) { if (e.status === 404) return null; throw e; }
}

views.limits = async () => {
  const [l, sessions, outbox] = await Promise.all([api("GET", "/api/rate-limits"), optional("/api/whatsapp/sessions"), optional("/api/whatsapp/outbox?limit=50")]);
  const limits = l.limits.length ? l.limits.map(x => `<tr><td><code>${esc(x.key)}</code></td>
      <td>${x.max != null ? `${x.max} per ${x.window_secs} s` : "—"}</td><td>${x.used}</td><td>${x.remaining ?? "—"}</td>
      <td>${x.jobs_waiting}</td><td>${x.blocked_until ? `<span class="error">until ${when(x.blocked_until)}</span> ${esc(x.blocked_reason || "")}` : "—"}</td></tr>`).join("")
    : `<tr><td colspan="6" class="muted">No rate limit configured or in use.</td></tr>`;
  const sess = sessions == null ? `<p class="muted" id="wa-unavailable">WhatsApp status not available on this server.</p>`
    : `<div class="table-wrap"><table id="wa-sessions"><thead><tr><th>Session</th><th>State</th><th>Updated</th></tr></thead><tbody>${sessions.sessions.map(x => `<tr><td>${esc(x.name)}</td><td>${badge(x.state)}</td><td>${when(x.updated_at)}</td></tr>`).join("") || `<tr><td colspan="3" class="muted">No session.</td></tr>`}</tbody></table></div>`;
  const out = outbox == null ? `<p class="muted">Outbox not available on this server.</p>`
    : `<div class="table-wrap"><table id="wa-outbox"><thead><tr><th>When</th><th>Chat</th><th>Message</th><th>Status</th><th class="hide-sm">Job</th></tr></thead><tbody>${outbox.messages.map(m => `<tr>
        <td>${when(m.sent_at || m.created_at)}</td><td><code>${esc(m.chat_id)}</code></td>
        <td>${m.text ? `<div class="wa">${whatsapp(m.text)}</div>` : ""}${m.file_name ? `<div>📎 ${esc(m.file_name)}</div>` : ""}</td>
        <td>${badge(m.status)}${m.error ? `<div class="error">${esc(m.error)}</div>` : ""}<div class="muted">${esc(m.transport || "")}</div></td>
        <td class="hide-sm">${m.job_id ? `<a href="#/job/${m.job_id}">#${m.job_id}</a>` : ""}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">Nothing sent yet.</td></tr>`}</tbody></table></div>`;
  return `<h1>Rate limits</h1>
    <div class="table-wrap"><table id="limits"><thead><tr><th>Key</th><th>Allowance</th><th>Used</th><th>Remaining</th><th>Jobs waiting</th><th>Blocked</th></tr></thead><tbody>${limits}</tbody></table></div>
    <h1 style="margin-top:20px">WhatsApp</h1><h2>Sessions</h2>${sess}<h2>Outbox</h2>${out}`;
};

// ------------------------------------------------------------------ tenants

views.tenants = async r => {
  const client = (r.params.get("client_id") || "").trim();
  const form = `<h1>Tenants</h1><form id="tenant-form" class="row card">
      <label>Client id <input id="tenant-id" value="${esc(client)}" placeholder="e.g. POLRES_KEDIRI" required></label>
      <label>Day (WIB) <input id="tenant-day" type="date" value="${esc(r.params.get("day") || "")}"></label>
      <button class="primary" type="submit">Show</button></form>`;
  if (!client) return form + `<p class="muted">Jobs whose payload has this <code>client_id</code>, across every queue.</p>`;
  const day = r.params.get("day");
  const filter = { client_id: client };
  if (day) { filter.created_after = new Date(day + "T00:00:00+07:00").toISOString(); filter.created_before = new Date(+new Date(filter.created_after) + 86400e3).toISOString(); }
  const q = new URLSearchParams(filter);
  q.set("page", r.params.get("page") || "1");
  q.set("per_page", "100");
  const [page, paused] = await Promise.all([api("GET", "/api/jobs?" + q), api("GET", "/api/clients/paused")]);
  const pause = paused.clients.find(c => c.client_id === client);
  const byQueue = {};
  page.jobs.forEach(j => { (byQueue[j.queue] ||= {})[j.state] = ((byQueue[j.queue] || {})[j.state] || 0) + 1; });
  const summary = Object.entries(byQueue).map(([queue, c]) => `<div class="card"><b>${esc(queue)}</b><div class="counts">${STATES.filter(s => c[s]).map(s => `${badge(s)} ${c[s]}`).join(" ")}</div></div>`).join("");
  // A paused client's jobs stay pending in every queue, new ones too, until resumed.
  const state = pause
    ? `<span class="badge bad" id="tenant-paused" data-paused="1">paused</span>
       <span class="muted">since ${when(pause.paused_at)} by ${esc(pause.paused_by)} · holding ${pause.pending_jobs} pending job${pause.pending_jobs === 1 ? "" : "s"} across queues</span>
       <button type="button" id="tenant-resume">Resume this client</button>`
    : `<span class="badge ok">running</span>
       <button type="button" id="tenant-pause">Pause this client</button>`;
  return form + `<div class="row"><h2>${esc(client)}${day ? " on " + esc(day) : ""}: ${page.total} jobs</h2><span class="row" id="tenant-state">${state}</span></div>
    <div class="grid">${summary}</div>
    <div class="row" style="margin:10px 0"><span class="muted">Scoped to this client:</span>
      <button type="button" data-bulk="retry" id="tenant-retry">Retry failed &amp; cancelled</button>
      <button type="button" data-bulk="cancel" id="tenant-cancel">Cancel pending</button></div>
    ${jobsTable(page.jobs)}${pager("tenants", r.params, page.page, page.total, page.per_page)}`;
};
views.tenants.after = r => {
  $("#tenant-form").onsubmit = ev => { ev.preventDefault(); go("tenants", new URLSearchParams({ client_id: $("#tenant-id").value.trim(), day: $("#tenant-day").value })); };
  const client = r.params.get("client_id");
  if (client) {
    const filter = { client_id: client };
    const day = r.params.get("day");
    if (day) { filter.created_after = new Date(day + "T00:00:00+07:00").toISOString(); filter.created_before = new Date(+new Date(filter.created_after) + 86400e3).toISOString(); }
    bindBulk(filter, `of ${client}`);
    const path = `/api/clients/${encodeURIComponent(client)}`;
    if ($("#tenant-pause")) $("#tenant-pause").onclick = async () => {
      if (!(await confirmAction(`Pause every job of ${client}, in every queue, until resumed?`))) return;
      act(`Client ${client} paused`, () => api("POST", `${path}/pause`));
    };
    if ($("#tenant-resume")) $("#tenant-resume").onclick = () => act(`Client ${client} resumed`, () => api("POST", `${path}/resume`));
  }
  bindRows();
};

// ------------------------------------------------------------------ enqueue form

views.enqueue = async r => {
  const cat = await getCatalogue();
  const kind = r.params.get("kind") || cat.kinds[0].kind;
  const spec = cat.kinds.find(k => k.kind === kind) || cat.kinds[0];
  return `<h1>Enqueue a job</h1><form id="enqueue-form" class="card">
    <div class="row"><label>Kind <select id="e-kind">${cat.kinds.map(k => `<option ${k.kind === spec.kind ? "selected" : ""}>${esc(k.kind)}</option>`).join("")}</select></label>
      <span class="muted">queue ${esc(spec.queue)} · ${spec.max_attempts} attempts · ${esc(spec.summary)}</span></div>
    <label>Payload (JSON)<textarea id="e-payload" spellcheck="false">${esc(JSON.stringify(spec.example, null, 2))}</textarea></label>
    <div class="row"><label>Run at (WIB, empty: now) <input id="e-run-at" type="datetime-local"></label>
      <label>Priority <input id="e-priority" type="number" min="-100" max="100" value="0" style="width:6em"></label>
      <span style="flex:1"></span><button id="e-submit" class="primary" type="submit" disabled>Enqueue</button></div>
    <p id="e-check" class="muted">Checking…</p></form>`;
};
views.enqueue.after = () => {
  let timer = null;
  const check = async () => {
    const out = $("#e-check"), submit = $("#e-submit");
    let payload;
    try { payload = JSON.parse($("#e-payload").value); } catch (e) { out.className = "error"; out.textContent = "Not JSON: " + e.message; submit.disabled = true; return; }
    try { await api("POST", "/api/jobs/validate", { kind: $("#e-kind").value, payload }); out.className = "muted"; out.textContent = "Payload is valid."; submit.disabled = false; }
    catch (e) { out.className = "error"; out.textContent = e.message; submit.disabled = true; }
  };
  $("#e-kind").onchange = () => go("enqueue", new URLSearchParams({ kind: $("#e-kind").value }));
  $("#e-payload").oninput = () => { clearTimeout(timer); timer = setTimeout(check, 300); };
  $("#enqueue-form").onsubmit = async ev => {
    ev.preventDefault();
    const body = { kind: $("#e-kind").value, payload: JSON.parse($("#e-payload").value), priority: Number($("#e-priority").value || 0) };
    if ($("#e-run-at").value) body.run_at = jakartaToIso($("#e-run-at").value);
    try { const r = await api("POST", "/api/jobs", body); toast(r.duplicate_of ? `Already queued as #${r.id}` : `Enqueued #${r.id}`); location.hash = "#/job/" + r.id; }
    catch (e) { if (e.status !== 401) toast("Enqueue failed: " + e.message); }
  };
  check();
};

// ------------------------------------------------------------------ audit log

views.audit = async r => {
  const before = r.params.get("before_id");
  const a = await api("GET", "/api/audit?limit=100" + (before ? "&before_id=" + encodeURIComponent(before) : ""));
  const rows = a.entries.map(e => `<tr><td>${when(e.at)}</td><td>${esc(e.actor)}</td><td><code>${esc(e.action)}</code></td>
      <td>${e.target && /^job\./.test(e.action) ? `<a href="#/job/${esc(e.target)}">#${esc(e.target)}</a>` : esc(e.target || "")}</td>
      <td class="hide-sm"><code>${esc(JSON.stringify(e.detail))}</code></td></tr>`).join("") || `<tr><td colspan="5" class="muted">No action yet.</td></tr>`;
  const older = a.entries.length === 100 ? `<a href="#/audit?before_id=${a.entries[99].id}">older →</a>` : "";
  return `<h1>Audit log</h1><div class="table-wrap"><table id="audit"><thead><tr><th>When</th><th>Who</th><th>What</th><th>Target</th><th class="hide-sm">Detail</th></tr></thead><tbody>${rows}</tbody></table></div><div class="pager">${older}</div>`;
};

// ------------------------------------------------------------------ start

if (session.token) startLive();
render();
