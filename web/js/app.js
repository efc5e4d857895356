// Entry point: session bootstrap, the hash router, the top bar, the
// connection state bar, and the service worker.

import { h, mount } from './dom.js';
import { t, lang, setLang, onLangChange } from './i18n.js';
import * as api from './api.js';
import * as live from './live.js';
import * as offline from './offline.js';
import * as alerts from './alerts.js';
import * as store from './store.js';
import { forgetAttachments } from './attach.js';
import { loginView } from './views/login.js';
import { childrenView } from './views/children.js';
import { notebookView } from './views/notebook.js';
import { membersView } from './views/members.js';
import { cardView } from './views/card.js';
import { accessLogView } from './views/accesslog.js';
import { exportView } from './views/export.js';
import { orgsView } from './views/orgs.js';
import { inviteView } from './views/invite.js';
import { settingsView } from './views/settings.js';
import { accountsView } from './views/accounts.js';
import { securityLogView } from './views/securitylog.js';
import { recordsView } from './views/records.js';
import { onboardView } from './views/onboard.js';
import { inboxView, inboxBadge, forgetInbox } from './views/inbox.js';
import { calendarView } from './views/calendar.js';

// [path, view, who]: 'guest' (logged out only), 'any', 'user', 'manager'
// (an admin or an organization's admin).
const ROUTES = [
  [/^\/login$/, loginView, 'guest'],
  [/^\/invite(?:\/([^/]*))?$/, inviteView, 'any'],
  [/^\/?$/, childrenView, 'user'],
  [/^\/children\/new$/, onboardView, 'user'],
  [/^\/orgs$/, orgsView, 'user'],
  [/^\/settings$/, settingsView, 'user'],
  [/^\/accounts$/, accountsView, 'manager'],
  [/^\/security$/, securityLogView, 'manager'],
  [/^\/records$/, recordsView, 'manager'],
  [/^\/inbox$/, inboxView, 'user'],
  [/^\/calendar$/, calendarView, 'user'],
  [/^\/child\/([\w-]+)(?:\/entry\/([\w-]+))?$/, notebookView, 'user'],
  [/^\/child\/([\w-]+)\/members$/, membersView, 'user'],
  [/^\/child\/([\w-]+)\/card$/, cardView, 'user'],
  [/^\/child\/([\w-]+)\/log$/, accessLogView, 'user'],
  [/^\/child\/([\w-]+)\/export$/, exportView, 'user'],
];

let cleanup = null;
let renderToken = 0;

function currentPath() {
  return location.hash.replace(/^#/, '') || '/';
}

export function navigate(path) {
  if (currentPath() === path) route();
  else location.hash = `#${path}`;
}

async function route() {
  const path = currentPath();
  const main = document.getElementById('main');
  let match = null;
  for (const [re, view, who] of ROUTES) {
    const m = re.exec(path);
    if (m) { match = { view, who, params: m.slice(1).map((p) => (p ? decodeURIComponent(p) : p)) }; break; }
  }
  if (!match) { navigate('/'); return; }
  const needsAuth = match.who === 'user' || match.who === 'manager';
  if (needsAuth && !api.currentSession()) {
    sessionStorage.setItem('renraku.after_login', path);
    navigate('/login');
    return;
  }
  if (match.who === 'guest' && api.currentSession()) { navigate('/'); return; }
  if (match.who === 'manager' && !api.canManageAccounts()) { navigate('/'); return; }
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  renderToken += 1;
  const token = renderToken;
  renderTopbar();
  mount(main);
  main.className = '';
  const result = await match.view(main, ...match.params);
  if (token !== renderToken) { if (typeof result === 'function') result(); return; }
  cleanup = typeof result === 'function' ? result : null;
  const title = document.getElementById('page-title');
  if (title && document.activeElement === document.body) title.focus({ preventScroll: true });
}

function renderTopbar() {
  document.title = t('app_title');
  document.getElementById('brand-name').textContent = t('app_name');
  document.getElementById('skip-link').textContent = t('skip_to_main');
  const nav = document.getElementById('topnav');
  nav.setAttribute('aria-label', lang() === 'ja' ? 'メニュー' : 'Menu');
  const other = lang() === 'ja' ? 'en' : 'ja';
  const langBtn = h('button', {
    type: 'button', class: 'linkish', id: 'lang-switch', lang: other,
    'aria-label': t('switch_lang_label'), onclick: () => setLang(other),
  }, t('switch_lang'));
  if (!api.currentSession()) { mount(nav, h('div', { class: 'navaux' }, langBtn)); return; }
  const acct = api.account();
  const path = currentPath();
  const here = (p) => (p === '/' ? (path === '/' || path.startsWith('/child/')) : path.startsWith(p));
  mount(nav,
    h('div', { class: 'navaux' },
      h('span', { class: 'whoami' }, acct?.display_name || ''),
      langBtn,
      h('button', { type: 'button', class: 'linkish', id: 'logout', onclick: doLogout }, t('logout'))),
    h('div', { class: 'navmain' },
      h('a', { href: '#/', class: 'navlink', 'aria-current': here('/') ? 'page' : null }, t('nav_children')),
      h('a', { href: '#/inbox', class: 'navlink', id: 'nav-inbox', 'aria-current': here('/inbox') ? 'page' : null },
        t('nav_inbox'), ' ', inboxBadge()),
      h('a', { href: '#/calendar', class: 'navlink', id: 'nav-calendar', 'aria-current': here('/calendar') ? 'page' : null },
        t('nav_calendar')),
      h('a', { href: '#/orgs', class: 'navlink', 'aria-current': here('/orgs') ? 'page' : null }, t('nav_orgs')),
      api.canManageAccounts() ? h('a', { href: '#/accounts', class: 'navlink', id: 'nav-accounts',
        'aria-current': here('/accounts') ? 'page' : null }, t('nav_accounts')) : null,
      api.account()?.kind === 'admin' ? h('a', { href: '#/security', class: 'navlink', id: 'nav-security',
        'aria-current': here('/security') ? 'page' : null }, t('nav_security')) : null,
      api.account()?.kind === 'admin' ? h('a', { href: '#/records', class: 'navlink', id: 'nav-records',
        'aria-current': here('/records') ? 'page' : null }, t('nav_records')) : null,
      h('a', { href: '#/settings', class: 'navlink', id: 'nav-settings',
        'aria-current': here('/settings') ? 'page' : null }, t('nav_settings'))));
}

async function doLogout() {
  await api.logout();
}

function renderConnbar(state) {
  const bar = document.getElementById('connbar');
  const text = { offline: t('conn_offline'), reconnecting: t('conn_reconnecting'), connecting: t('conn_connecting') }[state];
  bar.dataset.state = state;
  if (!text || !api.currentSession()) { bar.hidden = true; bar.textContent = ''; return; }
  bar.hidden = false;
  bar.textContent = text;
}

function startSession() {
  live.start();
  alerts.start();
  // The stored account may be older than its rights (org_admin, say).
  api.get('/me').then((acct) => {
    api.setAccount(acct);
    if (api.currentSession()) renderTopbar();
  }).catch(() => { /* the login answer's copy stays */ });
}

// The login screen says why (api.endReason); a logout says nothing.
api.onSessionEnd((reason) => {
  // A session that merely timed out keeps the cards saved for offline use;
  // a logout, or a session the server ended, removes them.
  if (reason !== 'expired') offline.clearCards().catch(() => {});
  forgetAttachments();
  forgetInbox();
  live.stop();
  alerts.stop();
  store.clear();
  try { sessionStorage.clear(); } catch { /* nothing stored */ }
  const path = currentPath();
  if (path === '/login' || path.startsWith('/invite')) route();
  else navigate('/login');
});

live.on('state', renderConnbar);
// A membership that ended takes the child's offline card with it.
live.on('membership', (f) => {
  if (f.status !== 'active' && f.child_id) offline.removeCard(f.child_id).catch(() => {});
});

onLangChange(() => {
  renderConnbar(live.connectionState());
  alerts.rerender();
  route();
});

/** Called by the login view once logged in. */
export function loggedIn() {
  startSession();
  const next = sessionStorage.getItem('renraku.after_login') || '/';
  sessionStorage.removeItem('renraku.after_login');
  navigate(next);
}

async function boot() {
  document.documentElement.lang = lang();
  window.addEventListener('hashchange', route);
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => { /* shell not cached */ });
    navigator.serviceWorker.addEventListener('message', (ev) => {
      if (ev.data?.type === 'alert' && ev.data.alert_id) alerts.showById(ev.data.alert_id);
    });
  }
  // A network failure keeps the stored session; the live connection retries.
  await api.resume();
  if (api.currentSession()) startSession();
  route();
}

boot();
