// The access log of a child, for the family: who read or wrote what, when.

import { h, mount } from '../dom.js';
import { t, label, formatDateTime } from '../i18n.js';
import { get, account } from '../api.js';
import { getMembers } from '../store.js';
import { childHead } from './childhead.js';
import { loading, failure, errorText } from '../ui.js';

const LIMIT = 500;
const MAX_PAGES = 40;

export async function accessLogView(main, childId) {
  mount(main, loading());
  let child; let members;
  try {
    [child, members] = await Promise.all([get(`/children/${childId}`), getMembers(childId)]);
  } catch (e) { mount(main, failure(e, () => accessLogView(main, childId))); return; }
  const me = members.find((m) => m.account_id === account()?.id);
  const rows = h('tbody');
  const status = h('div', { role: 'status' }, loading());
  mount(main, childHead(child, 'log', me?.role),
    h('h2', { class: 'section-title' }, t('log_title')),
    h('p', { class: 'muted' }, t('log_lead')),
    status,
    h('div', { class: 'table-wrap' },
      h('table', { class: 'log-table' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, t('log_when')), h('th', { scope: 'col' }, t('log_who')),
          h('th', { scope: 'col' }, t('log_action')), h('th', { scope: 'col' }, t('log_detail')))),
        rows)));
  // The API pages oldest first; people want the newest first.
  const all = [];
  try {
    let after = null;
    for (let i = 0; i < MAX_PAGES; i += 1) {
      const q = after == null ? `limit=${LIMIT}` : `after=${after}&limit=${LIMIT}`;
      const list = await get(`/children/${childId}/access-log?${q}`);
      all.push(...list);
      if (list.length < LIMIT) break;
      after = list[list.length - 1].id;
    }
  } catch (e) {
    mount(status, h('p', { class: 'form-error', role: 'alert' }, errorText(e)));
    return;
  }
  mount(status, all.length ? null : h('p', { class: 'empty' }, t('log_empty')));
  for (const r of all.reverse()) {
    rows.append(h('tr', { class: `action-${r.action}` },
      h('td', { class: 'nowrap', dataset: { label: t('log_when') } }, formatDateTime(r.at)),
      h('td', { dataset: { label: t('log_who') } }, r.display_name),
      h('td', { dataset: { label: t('log_action') } }, label('action', r.action)),
      h('td', { class: 'detail', dataset: { label: t('log_detail') } }, r.detail || '')));
  }
}
