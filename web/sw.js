// Service worker: caches the app shell only (HTML, CSS, JS, icons) so the
// app opens offline; never caches an API answer. The one thing about a
// child it serves is a copy of an emergency card that the user chose to
// keep on this device (js/offline.js writes it to the `renraku-cards`
// cache, and removes it at logout and when the membership ends); it is
// served from that cache only, never fetched.
// Shows Web Push alerts (the payload holds no child data) and focuses the
// app when one is clicked.

const CACHE = 'renraku-shell-v14';
const SHELL = [
  '/', '/index.html', '/manifest.webmanifest', '/css/app.css',
  '/js/app.js', '/js/i18n.js', '/js/dom.js', '/js/api.js', '/js/live.js', '/js/ui.js',
  '/js/store.js', '/js/offline.js', '/js/entry.js', '/js/compose.js', '/js/alerts.js', '/js/push.js',
  '/js/views/login.js', '/js/views/children.js', '/js/views/notebook.js', '/js/views/childhead.js',
  '/js/views/members.js', '/js/views/card.js', '/js/views/accesslog.js', '/js/views/orgs.js',
  '/js/views/invite.js', '/js/views/settings.js', '/js/views/accounts.js', '/js/views/securitylog.js',
  '/js/views/password.js', '/js/views/onboard.js', '/js/invitation.js', '/js/views/handovers.js', '/js/picker.js',
  '/js/views/totp.js', '/js/views/records.js', '/js/views/export.js', '/js/qr.js', '/js/attach.js', '/js/thread.js', '/js/views/inbox.js', '/js/views/notify.js', '/js/views/calendar.js', '/js/vendor/qrcode-generator.js',
  '/icons/icon.svg', '/icons/icon-192.png', '/icons/icon-512.png', '/icons/maskable-512.png',
  '/icons/book.svg', '/icons/people.svg', '/icons/card.svg', '/icons/eye.svg', '/icons/siren.svg',
  '/icons/check.svg', '/icons/download.svg', '/icons/pencil.svg', '/icons/chevron.svg',
  '/icons/cat-health.svg', '/icons/cat-medical.svg', '/icons/cat-welfare.svg', '/icons/cat-childcare.svg',
  '/icons/cat-education.svg', '/icons/cat-employment.svg', '/icons/cat-family.svg',
];
const SHELL_SET = new Set(SHELL);
const CARDS = 'renraku-cards';
const CARD_PREFIX = '/offline/card/';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE && k !== CARDS).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// Network first for the shell (so updates arrive), the cache when offline.
// Anything else, above all /api/, goes to the network untouched.
self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (url.pathname.startsWith(CARD_PREFIX)) {
    event.respondWith((async () => {
      const hit = await (await caches.open(CARDS)).match(url.pathname);
      return hit || new Response(
        '<!doctype html><meta charset="utf-8"><title>連絡帳</title><p>この端末には緊急カードが保存されていません。'
        + ' / No emergency card is kept on this device.</p>',
        { status: 404, headers: { 'content-type': 'text/html; charset=utf-8' } },
      );
    })());
    return;
  }
  const key = req.mode === 'navigate' ? '/' : url.pathname;
  if (!SHELL_SET.has(key)) return;
  event.respondWith((async () => {
    try {
      const res = await fetch(req);
      if (res.ok && res.type === 'basic') {
        const copy = res.clone();
        caches.open(CACHE).then((c) => c.put(key, copy)).catch(() => {});
      }
      return res;
    } catch (e) {
      const cached = await caches.match(key);
      if (cached) return cached;
      throw e;
    }
  })());
});

self.addEventListener('push', (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = {}; }
  const title = data.title || '連絡帳 Renraku';
  const options = {
    body: data.body || '',
    // Entries of one child replace each other's notification.
    tag: data.alert_id ? `alert-${data.alert_id}` : data.child_id ? `entry-${data.child_id}` : 'renraku',
    renotify: true,
    requireInteraction: data.type === 'alert',
    icon: '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    data: { type: data.type, alert_id: data.alert_id, child_id: data.child_id, entry_id: data.entry_id },
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const alertId = event.notification.data?.alert_id;
  const { child_id: childId, entry_id: entryId } = event.notification.data || {};
  // An entry's push opens its notebook at the entry.
  const link = childId && /^[\w-]+$/.test(childId) && /^[\w-]*$/.test(entryId || '')
    ? `/#/child/${childId}${entryId ? `/entry/${entryId}` : ''}` : null;
  event.waitUntil((async () => {
    const all = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const client of all) {
      if (new URL(client.url).origin === self.location.origin) {
        await client.focus();
        if (alertId) client.postMessage({ type: 'alert', alert_id: alertId });
        else if (link) await client.navigate(link).catch(() => {});
        return;
      }
    }
    // A new page loads the open alerts itself (GET /api/v1/alerts?open=true).
    await self.clients.openWindow(link || '/');
  })());
});
