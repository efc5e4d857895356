// 受信箱: the open questions addressed to me across my children, oldest
// first, and the count on the top bar's badge (kept current from the live
// connection: a question addressed to me, or one answered).

import { h, mount } from '../dom.js';
import { t, formatDateTime } from '../i18n.js';
import { get, account } from '../api.js';
import * as live from '../live.js';
import { pageTitle, loading, failure } from '../ui.js';
import { categoryChip, entryCategories, renderBody } from '../entry.js';

let count = null;
let timer = null;

/** The badge's element, filled when the count is known. */
export function inboxBadge() {
  const el = h('span', { class: 'badge badge-unread inbox-badge', id: 'inbox-badge', hidden: true });
  paint(el);
  if (count === null) refreshInbox();
  return el;
}

function paint(el = document.getElementById('inbox-badge')) {
  if (!el) return;
  if (count !== null) el.dataset.count = String(count);
  el.hidden = !count;
  el.textContent = count ? String(count) : '';
  el.setAttribute('aria-label', count ? t('inbox_badge_label', { n: count }) : '');
}

/** Reads the count again (soon: several events in a row make one read). */
export function refreshInbox(delay = 0) {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    try {
      count = (await get('/inbox')).entries.length;
      paint();
    } catch { /* the badge stays as it was */ }
  }, delay);
}

export function forgetInbox() {
  clearTimeout(timer);
  count = null;
}

live.on('entry', (e) => {
  const me = account()?.id;
  if (me && e.needs_reply && (e.to || []).includes(me)) refreshInbox(500);
});
live.on('inbox', () => refreshInbox(300));
live.on('entry_state', () => { if (count) refreshInbox(500); });

export async function inboxView(main) {
  const list = h('div', { class: 'stack' }, loading());
  mount(main, pageTitle(t('inbox_title')), h('p', { class: 'muted' }, t('inbox_lead')), list);
  const load = async () => {
    try {
      const [inbox, children] = await Promise.all([get('/inbox'), get('/children')]);
      count = inbox.entries.length;
      paint();
      const names = new Map(children.map((c) => [c.id, c.name]));
      mount(list, inbox.entries.length
        ? h('ol', { class: 'inbox-list', role: 'list' }, inbox.entries.map((e) => item(e, names)))
        : h('p', { class: 'empty inbox-empty' }, t('inbox_empty')));
    } catch (e) {
      mount(list, failure(e, load));
    }
  };
  await load();
  const off = live.on('entry_state', () => load());
  return () => off();
}

function item(e, names) {
  return h('li', { class: 'card inbox-item', dataset: { id: e.id, child: e.child_id } },
    h('p', { class: 'inbox-child' }, names.get(e.child_id) || '?'),
    h('div', { class: 'entry-head' }, entryCategories(e).map(categoryChip),
      h('span', { class: 'q-state q-open' }, t('state_open'))),
    h('p', { class: 'entry-meta' },
      h('span', { class: 'author' }, e.author_name),
      h('time', { datetime: e.created_at }, formatDateTime(e.created_at))),
    renderBody(e),
    h('a', { class: 'button secondary inbox-open', href: `#/child/${e.child_id}/entry/${e.id}` }, t('inbox_open')));
}
