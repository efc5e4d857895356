// Web Push: offer to enable notifications so that emergency alerts reach a
// closed page. The payload carries no child data; the page fetches the alert.

import { h } from './dom.js';
import { t } from './i18n.js';
import { get, post } from './api.js';
import { toast } from './ui.js';

function supported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

function b64urlToBytes(s) {
  const pad = '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob((s + pad).replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function currentSubscription() {
  if (!supported()) return null;
  const reg = await navigator.serviceWorker.getRegistration('/');
  return reg ? reg.pushManager.getSubscription() : null;
}

export async function enable() {
  if (!supported()) { toast(t('push_unsupported'), 'error'); return false; }
  try {
    const perm = await Notification.requestPermission();
    if (perm !== 'granted') { toast(t('push_denied'), 'error'); return false; }
    const reg = await navigator.serviceWorker.ready;
    const { public_key: key } = await get('/push/vapid-public-key');
    let sub = await reg.pushManager.getSubscription();
    if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(key) });
    const json = sub.toJSON();
    await post('/push/subscriptions', { endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } });
    toast(t('push_done'));
    return true;
  } catch {
    toast(t('push_failed'), 'error');
    return false;
  }
}

/** A small box offering notifications (on the children screen). */
export function offerBox() {
  const box = h('div', { class: 'push-offer', hidden: true });
  if (!supported() || Notification.permission === 'denied') return box;
  currentSubscription().then((sub) => {
    if (sub && Notification.permission === 'granted') return;
    const btn = h('button', { type: 'button', class: 'secondary small', id: 'push-enable' }, t('push_enable'));
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      if (await enable()) box.hidden = true; else btn.disabled = false;
    });
    box.append(h('p', {}, t('push_offer')), btn);
    box.hidden = false;
  }).catch(() => {});
  return box;
}

