// The status page: reads the backend's health contract and shows one state per tier.
// Each tier's section gets data-state (ok, warn, fail, unknown), a summary and details;
// the page refreshes itself every REFRESH_SECONDS (?refresh=N overrides).
'use strict';

const REFRESH_SECONDS = Number(new URLSearchParams(location.search).get('refresh')) || 5;
const TIMEOUT_MS = 4000;
let apiUrl = '';

async function get(path) {
  // {code, body} for any JSON answer (a 503 is an answer), {code: 0, error} when none came.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  try {
    const response = await fetch(apiUrl + path, {signal: controller.signal, cache: 'no-store'});
    return {code: response.status, body: await response.json()};
  } catch (error) {
    return {code: 0, error: String(error)};
  } finally {
    clearTimeout(timer);
  }
}

function unreachable(answer, what) {
  return {state: 'unknown', summary: `${what}: no answer`, details: [answer.error || `HTTP ${answer.code}`]};
}

function dataTier(db) {
  if (!db.body) return unreachable(db, 'backend');
  const body = db.body;
  const replicas = (body.replicas || []).map(r => `replica ${r.address}: ${r.state}` +
    (r.lagSeconds != null ? ` (lag ${r.lagSeconds} s)` : ''));
  if (body.database !== 'connected') {
    return body.writePathReachable
      ? {state: 'fail', summary: 'PostgreSQL does not answer', details: [body.error, ...replicas]}
      : {state: 'unknown', summary: 'behind an unreachable write path', details: replicas};
  }
  const degraded = (body.replicas || []).some(r => r.state !== 'ok');
  return {state: degraded ? 'warn' : 'ok',
          summary: `connected, ${body.latencyMs} ms, reads from the ${body.readsFrom}`,
          details: [body.serverVersion, ...replicas]};
}

function poolingTier(db) {
  if (!db.body) return unreachable(db, 'backend');
  return db.body.writePathReachable
    ? {state: 'ok', summary: `write path ${db.body.target} answers`, details: []}
    : {state: 'fail', summary: `write path ${db.body.target} refuses connections`, details: [db.body.error]};
}

function cacheTier(cache) {
  if (!cache.body) return unreachable(cache, 'backend');
  const body = cache.body;
  return body.cache === 'connected'
    ? {state: 'ok', summary: `master ${body.masterName} at ${body.master}`,
       details: [`${body.latencyMs} ms`, `sentinels: ${(body.sentinels || []).join(', ')}`]}
    : {state: 'fail', summary: 'Redis unreachable', details: [body.error]};
}

function appTier(ready, version) {
  if (!ready.body) return {state: 'fail', summary: 'backend unreachable', details: [ready.error]};
  const checks = Object.entries(ready.body.checks || {}).map(([name, value]) => `${name}: ${value}`);
  const errors = Object.entries(ready.body.errors || {}).map(([name, value]) => `${name}: ${value}`);
  const extra = version.body ? [`Python ${version.body.python}`] : [];
  return ready.body.status === 'ok'
    ? {state: 'ok', summary: 'ready', details: [...checks, ...extra]}
    : {state: 'fail', summary: `not ready: ${(ready.body.failing || []).join(', ')}`, details: errors};
}

function workerTier(workers, queues) {
  const details = [];
  let state = workers.length ? 'ok' : 'unknown';
  for (const [type, answer] of workers) {
    if (!answer.body) {
      state = 'fail';
      details.push(`${type}: no answer`);
      continue;
    }
    const body = answer.body;
    if (body.status !== 'ok') state = 'fail';
    details.push(`${type}: ${body.status}, ${body.jobsProcessed} jobs, last ${body.lastJobTime || 'never'}`);
    for (const instance of body.instances || []) {
      if (instance.status !== 'ok') details.push(`${instance.url}: ${instance.reason || instance.status}`);
    }
  }
  if (queues.body && queues.body.queues) {
    for (const [name, queue] of Object.entries(queues.body.queues)) {
      if (queue.status !== 'ok' && state === 'ok') state = 'warn';
      details.push(`queue ${name}: ${queue.waiting} waiting, ${queue.active} active`);
    }
  }
  const summary = workers.length ? `${workers.length} worker type(s)` : 'no worker configured';
  return {state, summary, details};
}

function monitoringTier(alerts) {
  if (!alerts.body) return unreachable(alerts, 'backend');
  const body = alerts.body;
  if (body.status !== 'ok') return {state: 'fail', summary: `${body.source} unreachable`, details: [body.error]};
  const details = ['critical', 'warning', 'info'].flatMap(severity =>
    (body[severity] || []).map(alert => `${severity}: ${alert.name}: ${alert.summary}`));
  return {state: (body.critical || []).length ? 'warn' : 'ok',
          summary: `${body.source === 'alertmanager' ? 'Alertmanager' : "the application's own checks"}: ` +
                   `${(body.critical || []).length} critical, ${(body.warning || []).length} warning`,
          details};
}

function show(tier, view) {
  const section = document.getElementById(`tier-${tier}`);
  section.dataset.state = view.state;
  section.querySelector('.summary').textContent = view.summary;
  const list = section.querySelector('.details');
  list.replaceChildren(...view.details.filter(Boolean).map(text => {
    const item = document.createElement('li');
    item.textContent = text;
    return item;
  }));
}

async function refresh() {
  const [version, ready, db, cache, queues, alerts] = await Promise.all(
    ['/api/version', '/ready', '/api/health/db', '/api/health/cache', '/api/health/queues', '/api/health/alerts']
      .map(get));
  const types = (version.body && version.body.workerTypes) || [];
  const workers = await Promise.all(types.map(async type =>
    [type, await get(`/api/health/workers/${encodeURIComponent(type)}`)]));
  if (version.body) {
    const element = document.getElementById('release-version');
    element.textContent = version.body.version;
    element.dataset.version = version.body.version;
    document.getElementById('environment').textContent = version.body.environment;
  }
  show('data', dataTier(db));
  show('pooling', poolingTier(db));
  show('cache', cacheTier(cache));
  show('app', appTier(ready, version));
  show('worker', workerTier(workers, queues));
  show('monitoring', monitoringTier(alerts));
  const now = new Date();
  const stamp = document.getElementById('last-refresh');
  stamp.textContent = now.toLocaleTimeString();
  stamp.dataset.refreshedAt = now.toISOString();
}

async function start() {
  document.getElementById('refresh-seconds').textContent = REFRESH_SECONDS;
  try {
    const response = await fetch('config.json', {cache: 'no-store'});
    apiUrl = (await response.json()).apiUrl || '';
  } catch (error) {
    apiUrl = '';  // served without the frontend server (nginx alone): the API is on the same origin
  }
  const loop = async () => {
    try {
      await refresh();
      document.getElementById('error').hidden = true;
    } catch (error) {
      const element = document.getElementById('error');
      element.textContent = `refresh failed: ${error}`;
      element.hidden = false;
    }
    setTimeout(loop, REFRESH_SECONDS * 1000);
  };
  loop();
}

start();
