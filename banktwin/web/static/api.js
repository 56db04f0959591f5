// The API client: the session's token (sessionStorage, gone with the tab), JSON calls with
// `Authorization: Bearer`, paging headers, and the KPI stream read with fetch().

export const READ = 'digitaltwin.read';
export const WRITE = 'digitaltwin.write';
const KEY = 'banktwin.dashboard.session';
const EXPIRY_MARGIN_MS = 30_000; // sign in again a little before the token expires

/** The signed-in session ({clientId, token, scopes, expiresAt}), or null. */
export function session() {
  let s = null;
  try {
    s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    s = null;
  }
  if (!s || !s.token || Date.now() > s.expiresAt - EXPIRY_MARGIN_MS) return null;
  return s;
}

export function canWrite() {
  const s = session();
  return Boolean(s && s.scopes.includes(WRITE));
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `the API answered ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

/** Thrown once the session has ended (no token, or a 401): the page has gone to sign-in. */
export class SignedOut extends Error {}

/** Exchange client credentials for a token (HTTP Basic, client-credentials grant). */
export async function signIn(clientId, secret) {
  const basic = btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`);
  // credentials: 'omit': a 401 then never opens the browser's own Basic login prompt (the
  // token endpoint challenges with WWW-Authenticate: Basic); the dashboard uses no cookies.
  const res = await fetch('/oauth/token', {
    method: 'POST',
    credentials: 'omit',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${basic}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const why = res.status === 401 ? 'unknown client or wrong secret' : body.error_description;
    throw new Error(`Sign-in failed: ${why || `the server answered ${res.status}`}.`);
  }
  const scopes = String(body.scope || '').split(' ');
  if (!scopes.includes(READ)) {
    throw new Error(`Client ${clientId} does not have the ${READ} scope the dashboard needs.`);
  }
  const s = {
    clientId,
    token: body.access_token,
    scopes,
    expiresAt: Date.now() + body.expires_in * 1000,
  };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

function sessionEnded() {
  signOut();
  if (!location.hash.startsWith('#/signin')) {
    location.hash = `#/signin?expired=1&next=${encodeURIComponent(location.hash)}`;
  }
  return new SignedOut('signed out');
}

function bearer() {
  const s = session();
  if (!s) throw sessionEnded();
  return `Bearer ${s.token}`;
}

/** A call to the API: {data, headers, status}; ApiError for a problem, SignedOut on 401. */
export async function api(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const h = { Accept: 'application/json', Authorization: bearer(), ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    credentials: 'omit',
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (res.status === 401) throw sessionEnded();
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return { data, headers: res.headers, status: res.status };
}

/** A page of a list: {items, total, links: {next, prev, first, last: offset}}. */
export async function page(path, params, { signal } = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null) query.set(k, v);
  const { data, headers } = await api(`${path}?${query}`, { signal });
  return { items: data, total: Number(headers.get('X-Total-Count') || 0), links: links(headers) };
}

function links(headers) {
  const out = {};
  for (const part of (headers.get('Link') || '').split(',')) {
    const m = part.match(/<([^>]*)>\s*;\s*rel="([^"]+)"/);
    if (m) out[m[2]] = Number(new URL(m[1], location.origin).searchParams.get('offset') || 0);
  }
  return out;
}

/**
 * Read a server-sent-event stream with fetch (EventSource cannot send a bearer token):
 * onEvent(name, data) for each event; heartbeat comments are dropped. Resolves when the
 * server ends the stream; rejects on a network error or when `signal` aborts.
 */
export async function readStream(path, onEvent, signal) {
  const res = await fetch(path, {
    headers: { Accept: 'text/event-stream', Authorization: bearer() },
    credentials: 'omit',
    signal,
  });
  if (res.status === 401) throw sessionEnded();
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue; // a comment: the heartbeat
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') name = text;
        else if (field === 'data') data.push(text);
      }
      if (data.length) onEvent(name, JSON.parse(data.join('\n')));
    }
  }
}
