// Helpers for the browser tests: the server process, the browser, one
// context per user with request/console recording, and small waits.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.RENRAKU_CHROMIUM || '/usr/bin/chromium';
export const PASSWORD = 'renraku-demo';
export const PHONE = { width: 390, height: 844 };

/** Debian's chromium; installed with apt-get when missing (root or sudo). */
export function ensureChromium() {
  if (fs.existsSync(CHROMIUM)) return;
  console.log(`${CHROMIUM} is missing: installing Debian's chromium with apt-get`);
  const root = process.getuid?.() === 0;
  const cmd = root ? ['apt-get'] : ['sudo', '-n', 'apt-get'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync(cmd[0], [...cmd.slice(1), 'update'], { stdio: 'inherit', env });
  const r = spawnSync(cmd[0], [...cmd.slice(1), 'install', '-y', 'chromium', 'fonts-noto-cjk'], { stdio: 'inherit', env });
  if (r.status !== 0 || !fs.existsSync(CHROMIUM)) {
    throw new Error(`could not install chromium (apt-get exited ${r.status}); install it with: apt-get install -y chromium`);
  }
}

/**
 * Start `renraku demo` on an ephemeral port with a fresh data dir; resolves
 * with {url, stop()} once it prints `renraku listening on URL`.
 */
export async function startServer(bin, extraArgs = []) {
  if (!fs.existsSync(bin)) throw new Error(`server binary not found: ${bin} (run cargo build, or set RENRAKU_BIN)`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'renraku-browser-'));
  // The demo's plain-HTTP listener only where a test asks for it.
  const http = extraArgs.includes('--demo-http') ? [] : ['--demo-http', 'off'];
  const child = spawn(bin, ['demo', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--escalation-delay', '2', ...http, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  const log = [];
  let httpUrl = null;
  child.stderr.on('data', (d) => { log.push(String(d)); if (log.length > 400) log.shift(); });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 60 s\n${log.join('')}`)), 60_000);
    const rl = readline.createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      log.push(`${line}\n`);
      const h = /renraku demo for browsers: (http:\/\/\S+)/.exec(line);
      if (h) httpUrl = h[1].replace(/\/$/, '');
      const m = /renraku listening on (https?:\/\/\S+)/.exec(line);
      if (m) { clearTimeout(timer); resolve(m[1].replace(/\/$/, '')); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}\n${log.join('')}`)); });
  });
  const stop = async () => {
    if (child.exitCode == null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return { url, httpUrl, stop, log };
}

/**
 * Headless Debian chromium. Playwright gives each launch a fresh temporary
 * user-data-dir (and removes it on close). --ignore-certificate-errors on top
 * of ignoreHTTPSErrors lets the service worker register from the server's
 * self-signed certificate.
 */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--ignore-certificate-errors'],
  });
}

/** Per-test state: contexts to close, requests and console errors seen. */
export class Session {
  constructor(browser, base) {
    this.browser = browser;
    this.setBase(base);
    this.contexts = [];
    this.requests = [];
    this.consoleErrors = [];
  }

  setBase(base) {
    this.base = base;
    this.origin = new URL(base).origin;
  }

  /** A fresh context (its own storage) at the phone viewport, on the app. */
  async newUser(label, { viewport = PHONE, touch = false } = {}) {
    const ctx = await this.browser.newContext({
      ignoreHTTPSErrors: true, viewport, deviceScaleFactor: 1, locale: 'ja-JP', timezoneId: 'Asia/Tokyo', hasTouch: touch,
      serviceWorkers: 'allow',
    });
    ctx.setDefaultTimeout(15_000);
    this.contexts.push(ctx);
    ctx.on('request', (req) => this.requests.push({ who: label, url: req.url() }));
    const page = await ctx.newPage();
    page.on('websocket', (ws) => this.requests.push({ who: label, url: ws.url() }));
    page.on('console', (msg) => {
      if (msg.type() === 'error') this.consoleErrors.push(`${label}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => this.consoleErrors.push(`${label}: uncaught ${err.message}`));
    await page.goto(`${this.base}/`);
    await page.waitForSelector('#page-title');
    return page;
  }

  /** A context logged in as `login`, showing the children list. */
  async login(login, opts) {
    const page = await this.newUser(login, opts);
    await loginOn(page, login);
    return page;
  }

  /** Every request went to the server's own origin (or data:/blob:). */
  foreignRequests() {
    return this.requests.filter(({ url }) => {
      if (url.startsWith('data:') || url.startsWith('blob:')) return false;
      const u = new URL(url);
      const origin = `${u.protocol.replace('wss:', 'https:').replace('ws:', 'http:')}//${u.host}`;
      return origin !== this.origin;
    });
  }

  async close() {
    for (const ctx of this.contexts) await ctx.close().catch(() => {});
    this.contexts = [];
  }
}

export async function loginOn(page, login) {
  await page.fill('input[name=username]', login);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('form button[type=submit]');
  await page.waitForSelector('.child-card, .children-empty');
}

/** From the children list, open a child's notebook and wait for its timeline. */
export async function openNotebook(page, childName) {
  await page.locator('.child-card', { hasText: childName }).click();
  await page.waitForSelector('.timeline .entry, .timeline-status .empty');
}

/** Post an entry from the notebook's composer. */
export async function postEntry(page, { category, kind = 'note', text }) {
  await page.click('#compose-open');
  await page.selectOption('form.compose select[name=category]', category);
  await page.selectOption('form.compose select[name=kind]', kind);
  await page.fill('form.compose textarea[name=text]', text);
  await page.click('form.compose button[type=submit]');
  await page.locator('.timeline .entry', { hasText: text }).waitFor();
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Poll `fn` until it returns a truthy value; fail with `what` after `timeout` ms. */
export async function eventually(fn, what, timeout = 10_000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function unique(prefix) {
  return `${prefix} ${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) for a base32 secret, `offset` steps from now. */
export function totp(secretB32, offset = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secretB32.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) continue;
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + offset));
  const mac = crypto.createHmac('sha1', bytes).update(counter).digest();
  const o = mac[mac.length - 1] & 0xf;
  const n = ((mac[o] & 0x7f) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3];
  return String(n % 1_000_000).padStart(6, '0');
}

/** Form controls and buttons on the page without an accessible name (should be none). */
export function unlabelled(page) {
  return page.evaluate(() => {
    const bad = [];
    for (const el of document.querySelectorAll('input, select, textarea, button, a[href]')) {
      if (el.type === 'hidden' || el.closest('[hidden]')) continue;
      const name = el.getAttribute('aria-label') || (el.labels && [...el.labels].map((l) => l.textContent).join(' '))
        || (['BUTTON', 'A'].includes(el.tagName) ? el.textContent : '') || el.getAttribute('title');
      if (!name || !name.trim()) bad.push(el.outerHTML.slice(0, 120));
    }
    return bad;
  });
}

/** Passwords the server's strength rules accept (and one they refuse). */
export const STRONG = ['Kaeru-no-Uta-2026-Hoshizora', 'tsukimi-dango-Sapporo-1987!', 'Ajisai-Kamakura-Tsuyu-2031'];
export const WEAK = 'password1234';

/** A JSON API call made from inside `page` (same origin): {status, data}. */
export function apiFetch(page, method, path, body, token) {
  return page.evaluate(async ({ method, path, body, token }) => {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const r = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let data = null;
    try { data = JSON.parse(text); } catch { data = text; }
    return { status: r.status, data };
  }, { method, path, body, token });
}

/**
 * A new account of its own for a test (so that no demo account's password
 * or TOTP changes): the admin invites it and the invitation is accepted with
 * `password`, all through the API, in a throwaway context.
 */
export async function createAccount(s, { login, display_name, kind = 'professional', profession = 'nurse', password, org, org_admin }) {
  const page = await s.newUser(`setup ${login}`);
  const admin = await apiFetch(page, 'POST', '/auth/login', { login: 'admin', password: PASSWORD });
  assert(admin.status === 200, `admin login: ${admin.status} ${JSON.stringify(admin.data)}`);
  const body = { login, display_name, kind };
  if (kind === 'professional') body.profession = profession;
  if (org) {
    const orgs = await apiFetch(page, 'GET', '/orgs', undefined, admin.data.access_token);
    body.org_id = orgs.data.find((o) => o.name === org)?.id;
    assert(body.org_id, `organization ${org}`);
  }
  if (org_admin) body.org_admin = true;
  const made = await apiFetch(page, 'POST', '/accounts', body, admin.data.access_token);
  assert(made.status === 201 && made.data?.invitation?.code, `invite ${login}: ${made.status} ${JSON.stringify(made.data)}`);
  const accepted = await apiFetch(page, 'POST', '/auth/accept-invitation', { code: made.data.invitation.code, password });
  assert(accepted.status === 200, `accept the invitation of ${login}: ${accepted.status} ${JSON.stringify(accepted.data)}`);
  await apiFetch(page, 'POST', '/auth/logout', undefined, accepted.data.access_token);
  await apiFetch(page, 'POST', '/auth/logout', undefined, admin.data.access_token);
  const ctx = page.context();
  s.contexts = s.contexts.filter((c) => c !== ctx);
  await ctx.close();
  return made.data.account;
}

/** Fill the login form with a login and password and submit (no wait). */
export async function submitLogin(page, login, password) {
  await page.fill('input[name=username]', login);
  await page.fill('input[name=password]', password);
  await page.click('form button[type=submit]');
}

/** The page has no horizontal scrolling at its viewport. */
export async function noHorizontalScroll(page, where) {
  const { sw, vw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, vw: window.innerWidth }));
  assert(sw <= vw, `${where} scrolls horizontally: ${sw} > ${vw}`);
}

/** The base32 secret of an otpauth:// URI. */
export function secretOf(uri) {
  const secret = new URL(uri).searchParams.get('secret');
  assert(secret, `no secret in ${uri}`);
  return secret;
}
