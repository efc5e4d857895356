// The HTTP side of the API: the session (tokens in memory, mirrored in
// sessionStorage so that a reload keeps the tab logged in, cleared on
// logout), refresh before expiry (listeners hear of every new access token,
// so the live socket renews its own), why a session ended, and one fetch
// wrapper with error mapping.

const KEY = 'renraku.session';
const REFRESH_MARGIN_MS = 60_000;
const RETRY_MS = 10_000;

let session = load();
let refreshTimer = null;
let refreshing = null;
let lastEnd = null;
const endListeners = new Set();
const tokenListeners = new Set();

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

/** May this account administer accounts (the accounts screen)? */
export function canManageAccounts() {
  const a = account();
  return Boolean(a && (a.kind === 'admin' || a.org_admin === true));
}

/**
 * Called with a reason when the session goes away: 'logout' (this tab's own
 * logout), 'expired' (idle or too old: refresh answered `session_expired`),
 * 'ended' (ended on the server: another device, a password change, the
 * account disabled).
 */
export function onSessionEnd(fn) { endListeners.add(fn); }

/** Called with the new access token after every refresh of the pair. */
export function onTokens(fn) { tokenListeners.add(fn); return () => tokenListeners.delete(fn); }

/**
 * Why the last session ended ('expired' | 'ended' | 'logout' | null), until
 * the next login (so the login page keeps saying it across re-renders).
 */
export function endReason() { return lastEnd; }

function setSession(data, acct) {
  const lifetime = data.expires_in * 1000;
  session = {
    access_token: data.access_token,
    refresh_token: data.refresh_token,
    expires_at: Date.now() + lifetime,
    lifetime,
    account: acct ?? data.account ?? session?.account,
  };
  store();
  scheduleRefresh();
}

/** Replace the stored account (after GET /me). */
export function setAccount(acct) {
  if (!session || !acct || acct.id !== session.account?.id) return;
  session.account = acct;
  store();
}

// Refresh a minute before expiry, or at two thirds of a short lifetime.
function margin() {
  const lifetime = session?.lifetime || 900_000;
  return Math.min(REFRESH_MARGIN_MS, lifetime / 3);
}

function scheduleRefresh(wait) {
  clearTimeout(refreshTimer);
  if (!session) return;
  const due = wait ?? Math.max(1_000, session.expires_at - Date.now() - margin());
  refreshTimer = setTimeout(() => {
    // A passing failure (network, 5xx, 429) keeps the session: try again soon.
    refresh().catch((e) => { if (session && !e.ends) scheduleRefresh(RETRY_MS); });
  }, due);
}

/** Resume a stored session: refresh now when the token is (nearly) stale. */
export async function resume() {
  if (!session) return false;
  if (session.expires_at - Date.now() < margin()) {
    try { await refresh(); } catch { return Boolean(session); }
  } else {
    scheduleRefresh();
  }
  return Boolean(session);
}

/**
 * Rotate the token pair; one at a time. A refusal (401 `session_expired`,
 * any other 4xx but 429) ends the session; the error then has `ends: true`.
 */
export function refresh() {
  if (refreshing) return refreshing;
  if (!session) return Promise.reject(Object.assign(new ApiError(401, 'unauthorized'), { ends: true }));
  const token = session.refresh_token;
  refreshing = raw('POST', '/auth/refresh', { refresh_token: token })
    .then((data) => {
      setSession(data);
      for (const fn of tokenListeners) {
        try { fn(data.access_token); } catch (e) { console.warn('token listener failed', e); }
      }
      return data;
    })
    .catch((e) => {
      const refused = e.status >= 400 && e.status < 500 && e.status !== 429 && e.status !== 408;
      if (refused) {
        e.ends = true;
        endSession(e.code === 'session_expired' ? 'expired' : 'ended');
      }
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
  if (had) {
    lastEnd = reason;
    for (const fn of endListeners) fn(reason);
  }
}

/**
 * Log in with `{login, password}` and one of `totp` / `recovery_code`.
 * Errors: `invalid_credentials`, `totp_required`, `totp_enrollment_required`
 * (the body carries `enrollment_token`), `rate_limited`.
 */
export async function login(loginId, password, second = {}) {
  const body = { login: loginId, password };
  if (typeof second === 'string') { if (second) body.totp = second; } else {
    if (second.totp) body.totp = second.totp;
    if (second.recovery_code) body.recovery_code = second.recovery_code;
  }
  const data = await raw('POST', '/auth/login', body);
  lastEnd = null;
  setSession(data, data.account);
  return data.account;
}

/** Accept an invitation: sets the password and logs in (the login answer). */
export async function acceptInvitation(code, password) {
  const data = await raw('POST', '/auth/accept-invitation', { code, password });
  lastEnd = null;
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

/** End every session of the account, this one included. */
export async function logoutAll() {
  await api('POST', '/auth/logout-all');
  endSession('logout');
}

/** Force the end of the session (the server closed it). */
export function sessionEnded(reason = 'ended') { endSession(reason); }

// Only the login endpoints carry a cookie: the HttpOnly device token that
// keeps this browser out of a lockout aimed at its account.
const COOKIE_PATHS = ['/auth/login', '/auth/accept-invitation'];

async function raw(method, path, body, token) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: COOKIE_PATHS.includes(path) ? 'same-origin' : 'omit',
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

/**
 * An authenticated request; one refresh-and-retry on 401 `unauthorized`
 * (a stale token). Other 401s (a wrong current password or code) are answers.
 */
export async function api(method, path, body) {
  if (!session) throw new ApiError(401, 'unauthorized');
  try {
    return await raw(method, path, body, session.access_token);
  } catch (e) {
    if (e.status !== 401 || e.code !== 'unauthorized' || !session) throw e;
    await refresh();
    return raw(method, path, body, session.access_token);
  }
}

/** A request with an explicit token (the TOTP enrolment token). */
export function apiWithToken(method, path, body, token) {
  return raw(method, path, body, token);
}

/** A POST whose answer is a file (an export): `{blob, name}`; one
 * refresh-and-retry on a stale token, as `api`. */
export async function postForFile(path, body) {
  if (!session) throw new ApiError(401, 'unauthorized');
  const once = async () => {
    let res;
    try {
      res = await fetch(`/api/v1${path}`, {
        method: 'POST', cache: 'no-store', credentials: 'omit',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${session.access_token}` },
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, 'network', e.message);
    }
    if (!res.ok) {
      let data = null;
      try { data = await res.json(); } catch { data = null; }
      const err = data?.error || {};
      throw new ApiError(res.status, err.code || `http_${res.status}`, err.message, data);
    }
    const cd = res.headers.get('content-disposition') || '';
    const name = /filename="([^"]+)"/.exec(cd)?.[1] || 'renraku-export';
    return { blob: await res.blob(), name };
  };
  try {
    return await once();
  } catch (e) {
    if (e.status !== 401 || e.code !== 'unauthorized' || !session) throw e;
    await refresh();
    return once();
  }
}

export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b ?? {});
export const put = (p, b) => api('PUT', p, b);
export const patch = (p, b) => api('PATCH', p, b);
export const del = (p, b) => api('DELETE', p, b);

/** Upload a file as the raw body (an attachment) → `{id, content_type, size, sha256}`. */
export async function uploadFile(path, file) {
  const send = async () => {
    let res;
    try {
      res = await fetch(`/api/v1${path}`, {
        method: 'POST', body: file, cache: 'no-store', credentials: 'omit',
        headers: { authorization: `Bearer ${session?.access_token}`, 'content-type': file.type || 'application/octet-stream',
          accept: 'application/json' },
      });
    } catch (e) { throw new ApiError(0, 'network', e.message); }
    return answer(res);
  };
  return withRefresh(send);
}

/** A file the server streams (an attachment), as a Blob with its type. */
export async function fetchBlob(path) {
  const send = async () => {
    let res;
    try {
      res = await fetch(`/api/v1${path}`, {
        cache: 'no-store', credentials: 'omit', headers: { authorization: `Bearer ${session?.access_token}` },
      });
    } catch (e) { throw new ApiError(0, 'network', e.message); }
    if (!res.ok) return answer(res);
    return res.blob();
  };
  return withRefresh(send);
}

async function answer(res) {
  const text = await res.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = null; } }
  if (!res.ok) {
    const err = data?.error || {};
    throw new ApiError(res.status, err.code || `http_${res.status}`, err.message, data);
  }
  return data;
}

async function withRefresh(send) {
  if (!session) throw new ApiError(401, 'unauthorized');
  try {
    return await send();
  } catch (e) {
    if (e.status !== 401 || e.code !== 'unauthorized' || !session) throw e;
    await refresh();
    return send();
  }
}
