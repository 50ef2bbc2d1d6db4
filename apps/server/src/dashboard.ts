/**
 * The dashboard at `/`: one page, no external asset (a Content-Security-Policy forbids any),
 * that lists the runs, submits a plan, and shows the selected run live — its event stream
 * read over SSE (with `fetch`, so the bearer token goes in a header, never in a URL), and its
 * view re-rendered on the server by the HTML report's code at most a few times a second.
 * A token given as `/#token=…` is kept in the tab's session storage.
 */
import { REPORT_CSS } from '@fanout/monitor/report';

/** What the dashboard's responses say about what the page may load: nothing from elsewhere. */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SCRIPT = String.raw`
const params = new URLSearchParams(location.hash.slice(1));
const token = params.get('token') || sessionStorage.getItem('fanout-token') || '';
if (params.get('token')) sessionStorage.setItem('fanout-token', params.get('token'));
const headers = token ? { authorization: 'Bearer ' + token } : {};
const $ = (id) => document.getElementById(id);
let current;
let stream;
let timer;

function say(text, error) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : 'quiet';
}

async function call(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { ...headers, ...(init.headers || {}) } });
  const type = response.headers.get('content-type') || '';
  const body = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) throw new Error(body && body.error ? body.error.code + ': ' + body.error.message : 'HTTP ' + response.status);
  return body;
}

async function loadRuns() {
  try {
    const { runs } = await call('/v1/runs?limit=100');
    const list = $('runs');
    list.replaceChildren(...runs.map((run) => {
      const item = document.createElement('li');
      item.dataset.id = run.id;
      item.dataset.state = run.state;
      item.className = run.id === current ? 'current' : '';
      item.textContent = run.title + ' — ' + run.state + ' (' + run.operations + ')';
      item.onclick = () => select(run.id);
      return item;
    }));
  } catch (error) {
    say(String(error.message || error), true);
  }
}

async function refresh() {
  timer = undefined;
  if (current === undefined) return;
  const id = current;
  const html = await call('/v1/runs/' + id + '/view');
  if (id === current) $('view').innerHTML = html;
}

function soon() {
  if (timer === undefined) timer = setTimeout(() => refresh().catch((e) => say(e.message, true)), 300);
}

async function follow(id, signal) {
  const response = await fetch('/v1/runs/' + id + '/events', { headers: { ...headers, accept: 'text/event-stream' }, signal });
  if (!response.ok) throw new Error('events: HTTP ' + response.status);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let count = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (block.startsWith('event: end')) {
        await refresh();
        await loadRuns();
        return;
      }
      count++;
      $('events').textContent = count + ' events';
      soon();
    }
  }
}

async function select(id) {
  if (stream) stream.abort();
  current = id;
  stream = new AbortController();
  for (const item of $('runs').children) item.className = item.dataset.id === id ? 'current' : '';
  await refresh();
  follow(id, stream.signal).catch((error) => {
    if (error.name !== 'AbortError') say(error.message, true);
  });
}

$('submit').onclick = async () => {
  let body;
  try {
    body = JSON.parse($('plan').value);
  } catch (error) {
    say('The plan is not JSON: ' + error.message, true);
    return;
  }
  try {
    const { id } = await call('/v1/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    say('Submitted ' + id);
    await loadRuns();
    await select(id);
  } catch (error) {
    say(error.message, true);
  }
};

const wanted = params.get('run');
loadRuns().then(() => {
  const first = wanted || ($('runs').firstElementChild && $('runs').firstElementChild.dataset.id);
  if (first) select(first);
});
setInterval(loadRuns, 3000);
`;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>fanout</title>
<style>
${REPORT_CSS}
body{max-width:none;display:grid;grid-template-columns:300px 1fr;gap:24px}
aside ul{list-style:none;padding:0;margin:8px 0}aside li{padding:4px 6px;cursor:pointer;border-radius:4px;font-size:13px}
aside li.current{background:#e8f0fe}aside li[data-state=failed]{color:#c0392b}aside li[data-state=running]{color:#2b6cb0}
textarea{width:100%;height:160px;font:12px monospace}.error{color:#c0392b}pre.report{white-space:pre-wrap;font-size:12px;background:#f7f7f7;padding:8px}
h1 small{font-size:12px;font-weight:normal}
</style></head><body>
<aside>
<h1>fanout</h1>
<p class="quiet">Runs of this server, newest first. <span id="events"></span></p>
<ul id="runs"></ul>
<h2>Submit a plan</h2>
<textarea id="plan" spellcheck="false">{"name": "list the tree", "operations": [{"id": "files", "kind": "glob", "input": {"pattern": "**/*"}}]}</textarea>
<button id="submit">Run</button>
<p id="status" class="quiet"></p>
</aside>
<main id="view"><p class="quiet">No run selected.</p></main>
<script>${SCRIPT}</script>
</body></html>
`;

/** The dashboard page (it holds no data: everything comes through the API, with the token). */
export function dashboardPage(): string {
  return PAGE;
}
