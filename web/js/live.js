// The live connection: one WebSocket per tab, authenticated by its first
// frame, renewed in place with a new `auth` frame after every token refresh
// (no reconnect), reconnected with backoff, and resumed with
// `subscribe after_seq` = the last seq seen for every child the page follows.

import { accessToken, refresh, sessionEnded, onTokens } from './api.js';

const listeners = new Map(); // type -> Set(fn)
const subs = new Map(); // child_id -> last seq seen
let ws = null;
let state = 'idle'; // idle | connecting | online | reconnecting | offline
let attempt = 0;
let timer = null;
let stopped = true;
let refCounter = 0;
const pending = new Map(); // ref -> {resolve, reject}
const renewals = new Set(); // refs of re-auth frames not yet answered
let authSent = false; // the open socket has had its first auth frame
let refusals = 0; // 4401s in a row without a `ready` in between

export function on(type, fn) {
  if (!listeners.has(type)) listeners.set(type, new Set());
  listeners.get(type).add(fn);
  return () => listeners.get(type).delete(fn);
}

function emit(type, data) {
  for (const fn of listeners.get(type) || []) {
    try { fn(data); } catch (e) { console.warn('live listener failed', e); }
  }
}

export function connectionState() { return state; }

function setState(s) {
  if (s === state) return;
  state = s;
  emit('state', s);
}

export function start() {
  stopped = false;
  attempt = 0;
  open();
}

export function stop() {
  stopped = true;
  clearTimeout(timer);
  subs.clear();
  if (ws) {
    const old = ws;
    ws = null;
    try { old.close(1000); } catch { /* closed */ }
  }
  setState('idle');
}

function open() {
  clearTimeout(timer);
  if (stopped) return;
  if (!navigator.onLine) { setState('offline'); return; }
  setState(attempt === 0 ? 'connecting' : 'reconnecting');
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`;
  let sock;
  try { sock = new WebSocket(url); } catch { scheduleReconnect(); return; }
  ws = sock;
  authSent = false;
  renewals.clear();
  sock.addEventListener('open', () => {
    if (ws !== sock) return;
    sock.send(JSON.stringify({ type: 'auth', access_token: accessToken() }));
    authSent = true;
  });
  sock.addEventListener('message', (ev) => {
    if (ws !== sock) return;
    let frame;
    try { frame = JSON.parse(ev.data); } catch { return; }
    handle(frame);
  });
  sock.addEventListener('close', (ev) => {
    if (ws !== sock) return;
    ws = null;
    for (const p of pending.values()) p.reject(new Error('closed'));
    pending.clear();
    if (stopped) return;
    if (ev.code === 4401) { onUnauthorized(); return; }
    scheduleReconnect();
  });
}

// 4401: the token was refused or the session was ended. One refresh tells
// which: it succeeds for a merely stale token (reconnect), fails for an
// ended or expired session (api.js ends it, with the reason).
async function onUnauthorized() {
  setState('reconnecting');
  refusals += 1;
  if (refusals > 3) { stop(); sessionEnded('ended'); return; }
  try {
    await refresh();
    if (stopped) return;
    attempt = refusals;
    if (refusals > 1) scheduleReconnect(); else open();
  } catch (e) {
    if (stopped) return;
    if (!e.ends) { scheduleReconnect(); return; }
    stop();
    sessionEnded('ended');
  }
}

// A refreshed token goes to the open socket as a new `auth` frame, answered
// by `ready` with its ref: the socket stays, with its subscriptions. A socket
// still connecting sends the new token in its first frame anyway.
function renew(token) {
  if (!ws || ws.readyState !== WebSocket.OPEN || !authSent) return;
  refCounter += 1;
  const ref = `auth-${refCounter}`;
  renewals.add(ref);
  ws.send(JSON.stringify({ type: 'auth', access_token: token, ref }));
}

onTokens(renew);

// The server refused the renewal (it should not): start a fresh socket.
function renewalRefused() {
  if (!ws) return;
  const old = ws;
  ws = null;
  try { old.close(1000); } catch { /* closed */ }
  attempt = 1;
  open();
}

function scheduleReconnect() {
  if (stopped) return;
  if (!navigator.onLine) { setState('offline'); return; }
  setState('reconnecting');
  attempt += 1;
  const base = Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5));
  const wait = base / 2 + Math.random() * base / 2;
  timer = setTimeout(open, wait);
}

window.addEventListener('online', () => { if (!stopped && !ws) { attempt = 0; open(); } });
window.addEventListener('offline', () => {
  if (stopped) return;
  setState('offline');
  if (ws) { const old = ws; ws = null; try { old.close(); } catch { /* closed */ } }
});

function handle(frame) {
  switch (frame.type) {
    case 'ready':
      if (frame.ref && renewals.delete(frame.ref)) { emit('renewed', frame); break; }
      attempt = 0;
      refusals = 0;
      setState('online');
      for (const [child, seq] of subs) sendRaw({ type: 'subscribe', child_id: child, after_seq: seq });
      emit('ready', frame);
      break;
    case 'entry': {
      const e = frame.entry;
      if (subs.has(e.child_id)) {
        if (e.seq <= subs.get(e.child_id)) return; // already seen
        subs.set(e.child_id, e.seq);
      }
      emit('entry', e);
      break;
    }
    case 'subscribed':
      if (subs.has(frame.child_id)) {
        subs.set(frame.child_id, Math.max(subs.get(frame.child_id), frame.last_seq ?? 0));
      }
      emit('subscribed', frame);
      break;
    case 'membership':
      if (frame.status === 'revoked' || frame.status === 'expired') subs.delete(frame.child_id);
      emit('membership', frame);
      break;
    case 'error':
      if (frame.ref && renewals.delete(frame.ref)) { renewalRefused(); break; }
      if (frame.ref && pending.has(frame.ref)) {
        pending.get(frame.ref).reject(Object.assign(new Error(frame.message), { code: frame.code }));
        pending.delete(frame.ref);
      }
      emit('error', frame);
      break;
    default:
      if (frame.ref && pending.has(frame.ref)) {
        pending.get(frame.ref).resolve(frame);
        pending.delete(frame.ref);
      }
      emit(frame.type, frame);
  }
}

function sendRaw(obj) {
  if (ws && ws.readyState === WebSocket.OPEN && state === 'online') {
    ws.send(JSON.stringify(obj));
    return true;
  }
  return false;
}

/** Send a frame and wait for the answer carrying its ref. */
export function request(obj, timeoutMs = 10_000) {
  refCounter += 1;
  const ref = `r${refCounter}`;
  return new Promise((resolve, reject) => {
    if (!sendRaw({ ...obj, ref })) { reject(new Error('offline')); return; }
    pending.set(ref, { resolve, reject });
    setTimeout(() => {
      if (pending.has(ref)) { pending.delete(ref); reject(new Error('timeout')); }
    }, timeoutMs);
  });
}

/** Follow a child's notebook from `afterSeq` on (also after reconnects). */
export function subscribe(childId, afterSeq) {
  subs.set(childId, afterSeq);
  sendRaw({ type: 'subscribe', child_id: childId, after_seq: afterSeq });
}

export function unsubscribe(childId) {
  if (!subs.delete(childId)) return;
  sendRaw({ type: 'unsubscribe', child_id: childId });
}

export function markRead(childId, seq) {
  return sendRaw({ type: 'read', child_id: childId, seq });
}

export function send(obj) { return sendRaw(obj); }
