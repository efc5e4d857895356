// The security log (セキュリティログ), for administrators: logins, failed
// logins, sessions ended, password and TOTP changes, invitations, account
// changes and rate-limit hits, newest first, with names instead of ids.

import { h, mount } from '../dom.js';
import { t, label, formatDateTime } from '../i18n.js';
import * as api from '../api.js';
import { get } from '../api.js';
import { pageTitle, loading, failure } from '../ui.js';

const LIMIT = 1000;
const MAX_PAGES = 20;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

export async function securityLogView(main) {
  if (api.account()?.kind !== 'admin') {
    mount(main, pageTitle(t('seclog_title')), h('p', { class: 'empty' }, t('seclog_admin_only')));
    return;
  }
  mount(main, loading());
  const all = [];
  let accounts = [];
  try {
    accounts = await get('/accounts?managed=true');
    let after = 0;
    for (let i = 0; i < MAX_PAGES; i += 1) {
      const list = await get(`/admin/security-log?after=${after}&limit=${LIMIT}`);
      all.push(...list);
      if (list.length < LIMIT) break;
      after = list[list.length - 1].id;
    }
  } catch (e) { mount(main, failure(e, () => securityLogView(main))); return; }
  const names = new Map(accounts.map((a) => [a.id, a.display_name]));
  const who = (id) => (id ? names.get(id) ?? t('seclog_unknown_account') : t('seclog_no_account'));
  const rows = h('tbody');
  for (const r of all.reverse()) {
    rows.append(h('tr', { class: `event-${r.event}` },
      h('td', { class: 'nowrap', dataset: { label: t('log_when') } }, formatDateTime(r.at)),
      h('td', { dataset: { label: t('log_who') } }, who(r.account_id)),
      h('td', { dataset: { label: t('log_action') } }, label('sev', r.event)),
      h('td', { dataset: { label: t('seclog_address') } }, r.address || ''),
      h('td', { class: 'detail', dataset: { label: t('log_detail') } },
        (r.detail || '').replace(UUID, (id) => who(id.toLowerCase())))));
  }
  mount(main,
    pageTitle(t('seclog_title')),
    h('p', { class: 'lead' }, t('seclog_lead')),
    all.length ? null : h('p', { class: 'empty' }, t('log_empty')),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'log-table' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, t('log_when')), h('th', { scope: 'col' }, t('log_who')),
          h('th', { scope: 'col' }, t('log_action')), h('th', { scope: 'col' }, t('seclog_address')),
          h('th', { scope: 'col' }, t('log_detail')))),
        rows)));
}
