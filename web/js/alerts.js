// Emergency alerts: raising one (with confirmation), the full-screen alert
// for a notified contact with acknowledge, and the delivery status bar that
// everyone involved sees, kept current by `alert_update` frames.

import { h, mount, icon, field, announce } from './dom.js';
import { t, formatDateTime } from './i18n.js';
import { get, post, account } from './api.js';
import * as live from './live.js';
import { getMembers } from './store.js';
import { dialog, toast, errorText } from './ui.js';

const alerts = new Map(); // id -> Alert
const dismissed = new Set();
const names = new Map(); // child_id -> Map(account_id -> display_name)
let offs = [];
let overlay = null; // {dlg, alertId}
let running = false;

export function start() {
  if (running) return;
  running = true;
  offs = [
    live.on('alert', (f) => upsert(f.alert, true)),
    live.on('alert_update', (f) => upsert(f.alert)),
    live.on('acked', (f) => upsert(f.alert)),
    live.on('ready', () => loadOpen()),
  ];
  loadOpen();
}

export function stop() {
  running = false;
  for (const off of offs) off();
  offs = [];
  alerts.clear();
  dismissed.clear();
  names.clear();
  closeOverlay();
  render();
}

async function loadOpen() {
  try {
    const list = await get('/alerts?open=true');
    for (const a of list) upsert(a, true);
  } catch { /* shown again on the next ready */ }
}

export async function showById(id) {
  try { upsert(await get(`/alerts/${id}`), true); } catch { /* not ours */ }
}

async function loadNames(childId) {
  if (names.has(childId)) return;
  try {
    const members = await getMembers(childId);
    names.set(childId, new Map(members.map((m) => [m.account_id, m.display_name])));
  } catch { names.set(childId, new Map()); }
}

function nameOf(a, id) {
  if (!id) return '';
  if (id === account()?.id) return account().display_name;
  return names.get(a.child_id)?.get(id) || '—';
}

async function upsert(a, fresh = false) {
  if (!a || !running) return;
  const before = alerts.get(a.id);
  alerts.set(a.id, a);
  await loadNames(a.child_id);
  if (fresh && !before && a.status === 'open' && mustRespond(a)) {
    announce(t('alert_announce', { child: a.child_name, message: a.message }), true);
  }
  render();
}

/** A contact that was notified and nobody has acknowledged yet. */
function mustRespond(a) {
  if (a.status !== 'open') return false;
  const me = account()?.id;
  return a.deliveries.some((d) => d.account_id === me && d.notified_at);
}

function isContact(a) {
  const me = account()?.id;
  return a.deliveries.some((d) => d.account_id === me);
}

export function rerender() { if (overlay) closeOverlay(); render(); }

function render() {
  renderBar();
  const urgent = [...alerts.values()].filter((a) => mustRespond(a) && !dismissed.has(`full-${a.id}`));
  if (overlay && !urgent.some((a) => a.id === overlay.alertId)) closeOverlay();
  if (!overlay && urgent.length) openOverlay(urgent[0]);
  else if (overlay) fillOverlay(alerts.get(overlay.alertId));
}

function renderBar() {
  const bar = document.getElementById('alertbar');
  const shown = [...alerts.values()].filter((a) => !dismissed.has(a.id))
    .sort((x, y) => x.created_at.localeCompare(y.created_at));
  bar.hidden = shown.length === 0;
  mount(bar, shown.map(statusItem));
}

function statusItem(a) {
  const acked = a.status === 'acknowledged';
  return h('section', { class: ['alert-status', acked ? 'acked' : 'open'], 'aria-label': t('alert_status_title'),
    dataset: { alertId: a.id, status: a.status } },
  h('div', { class: 'alert-status-head' },
    icon(acked ? 'check' : 'siren', 'icon'),
    h('strong', {}, `${t('alert_title')}：${t('alert_child', { child: a.child_name })}`),
    h('span', { class: ['pill', acked ? 'pill-ok' : 'pill-warn'], role: 'status' }, acked ? t('alert_acked') : t('alert_open'))),
  h('p', { class: 'alert-msg' }, a.message),
  h('p', { class: 'small' }, t('alert_raised_at', { date: formatDateTime(a.created_at) }), ' · ',
    t('alert_from', { name: nameOf(a, a.raised_by) })),
  h('p', { class: 'alert-ack-line' }, acked
    ? t('alert_acked_by', { name: nameOf(a, a.acked_by), date: formatDateTime(a.acked_at) })
    : t('alert_waiting')),
  h('details', { class: 'deliveries' },
    h('summary', {}, t('contacts_title')),
    deliveryList(a)),
  h('div', { class: 'buttons' },
    !acked && isContact(a) ? h('button', { type: 'button', class: 'primary small', onclick: () => ack(a.id) }, t('alert_ack')) : null,
    h('a', { href: `#/child/${a.child_id}/card`, class: 'button secondary small' }, t('alert_view_card')),
    acked ? h('button', { type: 'button', class: 'linkish small', onclick: () => { dismissed.add(a.id); render(); } }, t('close')) : null));
}

function deliveryList(a) {
  return h('ul', { class: 'delivery-list' }, [...a.deliveries].sort((x, y) => x.tier - y.tier).map((d) => h('li', {},
    h('span', { class: 'delivery-name' }, `${t('tier', { n: d.tier })} ${nameOf(a, d.account_id)}`),
    h('span', { class: 'delivery-state' },
      d.acked_at ? t('delivery_acked', { date: formatDateTime(d.acked_at) })
        : d.notified_at ? t('delivery_notified', { date: formatDateTime(d.notified_at) }) : t('delivery_not_yet')),
    (d.channels?.length || d.push_status || d.notify_count > 1) ? h('span', { class: 'delivery-extra' },
      [
        ...(d.channels || []).map((c) => t(`channel_${c}`)),
        d.push_status ? t(`delivery_push_${d.push_status}`) : null,
        d.notify_count > 1 ? t('notify_count', { n: d.notify_count }) : null,
      ].filter(Boolean).join(' · ')) : null)));
}

function openOverlay(a) {
  const dlg = h('dialog', { class: 'alert-full', role: 'alertdialog', 'aria-labelledby': 'alert-full-title',
    'aria-describedby': 'alert-full-msg', id: 'alert-full' });
  dlg.addEventListener('cancel', (ev) => ev.preventDefault()); // an emergency is not dismissed by Escape
  overlay = { dlg, alertId: a.id };
  document.body.append(dlg);
  fillOverlay(a);
  dlg.showModal();
  dlg.querySelector('.ack-btn')?.focus();
}

function fillOverlay(a) {
  if (!overlay || !a) return;
  mount(overlay.dlg,
    h('div', { class: 'alert-full-inner' },
      icon('siren', 'icon huge'),
      h('h2', { id: 'alert-full-title' }, t('alert_title')),
      h('p', { class: 'alert-child' }, t('alert_child', { child: a.child_name })),
      h('p', { class: 'alert-full-msg', id: 'alert-full-msg' }, a.message),
      h('p', {}, t('alert_from', { name: nameOf(a, a.raised_by) }), ' · ', formatDateTime(a.created_at)),
      h('button', { type: 'button', class: 'ack-btn', id: 'alert-ack', onclick: () => ack(a.id) }, t('alert_ack')),
      h('div', { class: 'buttons' },
        h('a', { href: `#/child/${a.child_id}/card`, class: 'button light', onclick: () => { dismissed.add(`full-${a.id}`); closeOverlay(); } },
          t('alert_view_card')),
        h('button', { type: 'button', class: 'linkish light', onclick: () => { dismissed.add(`full-${a.id}`); closeOverlay(); } },
          t('alert_later')))));
}

function closeOverlay() {
  if (!overlay) return;
  const { dlg } = overlay;
  overlay = null;
  if (dlg.open) dlg.close();
  dlg.remove();
}

async function ack(id) {
  try {
    let a;
    try {
      a = (await live.request({ type: 'ack_alert', alert_id: id })).alert;
    } catch (e) {
      if (e.code) throw e;
      a = await post(`/alerts/${id}/ack`);
    }
    upsert(a);
    toast(t('alert_acked'));
  } catch (e) {
    toast(errorText(e), 'error');
  }
}

/** The emergency button: confirm, then raise. */
export async function raiseAlertFlow(child) {
  const msg = h('textarea', { rows: 3, maxlength: 2000, required: true, value: t('emergency_default_message') });
  const v = await dialog({
    title: t('emergency_confirm_title'),
    className: 'danger-dialog',
    content: [h('p', {}, t('emergency_confirm_lead', { name: child.name })), field(t('emergency_message'), msg).wrap],
    buttons: [
      { label: t('cancel'), value: 'no' },
      { label: t('emergency_send'), value: 'yes', class: 'danger', submit: true },
    ],
  });
  if (v !== 'yes') return;
  try {
    const a = await post(`/children/${child.id}/alerts`, { message: msg.value.trim() || t('emergency_default_message') });
    await upsert(a);
    toast(t('emergency_sent'));
    announce(t('emergency_sent'), true);
  } catch (e) {
    toast(errorText(e), 'error');
  }
}
