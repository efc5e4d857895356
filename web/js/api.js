// The HTTP side of the API: the session (tokens in memory, mirrored in
// sessionStorage so that a reload keeps the tab logged in, cleared on
// logout), refresh before expiry, and one fetch wrapper with error mapping.

const KEY = 'renraku.session';
const REFRESH_MARGIN_MS = 60_000;

let session = load();
let refreshTimer = null;
let refreshing = null;
const endListeners = new Set();

/** An API error with the server's code (or `network`). */
export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

function load() {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? JSON.parse(raw) : null;
  } catch { return null; }
}

function store() {
  try {
    if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
    else sessionStorage.removeItem(KEY);
  } catch { /* memory only */ }
}

export function currentSession() { return session; }
export function account() { return session?.account ?? null; }
export function accessToken() { return session?.access_token ?? null; }

/** Called with a reason ('logout' | 'ended') when the session goes away. */
export function onSessionEnd(fn) { endListeners.add(fn); }

function setSession(data, acct) {
  session = {
    access_token: data.access_token,
    refresh_token: data.refresh_token,
    expires_at: Date.now() + data.expires_in * 1000,
    account: acct ?? data.account ?? session?.account,
  };
  store();
  scheduleRefresh();
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!session) return;
  const wait = Math.max(5_000, session.expires_at - Date.now() - REFRESH_MARGIN_MS);
  refreshTimer = setTimeout(() => { refresh().catch(() => {}); }, wait);
}

/** Resume a stored session: refresh now when the token is (nearly) stale. */
export async function resume() {
  if (!session) return false;
  if (session.expires_at - Date.now() < REFRESH_MARGIN_MS) {
    try { await refresh(); } catch { return false; }
  } else {
    scheduleRefresh();
  }
  return Boolean(session);
}

/** Rotate the token pair; a failure ends the session. One at a time. */
export function refresh() {
  if (refreshing) return refreshing;
  if (!session) return Promise.reject(new ApiError(401, 'unauthorized'));
  const token = session.refresh_token;
  refreshing = raw('POST', '/auth/refresh', { refresh_token: token })
    .then((data) => { setSession(data); return data; })
    .catch((e) => {
      if (e.code !== 'network') endSession('ended');
      throw e;
    })
    .finally(() => { refreshing = null; });
  return refreshing;
}

function endSession(reason) {
  clearTimeout(refreshTimer);
  const had = session != null;
  session = null;
  store();
  if (had) for (const fn of endListeners) fn(reason);
}

export async function login(loginId, password, totp) {
  const body = { login: loginId, password };
  if (totp) body.totp = totp;
  const data = await raw('POST', '/auth/login', body);
  setSession(data, data.account);
  return data.account;
}

export async function logout() {
  const token = accessToken();
  endSession('logout');
  if (token) {
    try { await raw('POST', '/auth/logout', undefined, token); } catch { /* already gone */ }
  }
}

/** Force the end of the session (the server closed it). */
export function sessionEnded() { endSession('ended'); }

async function raw(method, path, body, token) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'network', e.message);
  }
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = data?.error || {};
    throw new ApiError(res.status, err.code || `http_${res.status}`, err.message, data);
  }
  return data;
}

/** An authenticated request; one refresh-and-retry on 401. */
export async function api(method, path, body) {
  if (!session) throw new ApiError(401, 'unauthorized');
  try {
    return await raw(method, path, body, session.access_token);
  } catch (e) {
    if (e.status !== 401 || !session) throw e;
    await refresh();
    return raw(method, path, body, session.access_token);
  }
}

/** A request with an explicit token (the TOTP enrolment token). */
export function apiWithToken(method, path, body, token) {
  return raw(method, path, body, token);
}

export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b ?? {});
export const put = (p, b) => api('PUT', p, b);
export const patch = (p, b) => api('PATCH', p, b);
