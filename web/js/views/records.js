// The end of records (記録の保存と消去), for administrators: erasure requests
// from guardians (or the young person holding consent) to confirm, and the
// notebooks closed for longer than the retention period, to erase or
// reopen. An erasure destroys the child's data key: nothing of the
// notebook can be read again, by anyone, from this server or its backups.

import { h, mount } from '../dom.js';
import { t, formatDateTime } from '../i18n.js';
import * as api from '../api.js';
import { get, post } from '../api.js';
import { pageTitle, loading, failure, toast, errorText, confirmDialog } from '../ui.js';

export async function recordsView(main) {
  if (api.account()?.kind !== 'admin') {
    mount(main, pageTitle(t('records_title')), h('p', { class: 'empty' }, t('seclog_admin_only')));
    return;
  }
  mount(main, loading());
  let requests; let due; let accounts = [];
  try {
    [requests, due, accounts] = await Promise.all([get('/admin/erasures'), get('/admin/retention'),
      get('/accounts?managed=true').catch(() => [])]);
  } catch (e) { mount(main, failure(e, () => recordsView(main))); return; }
  const names = new Map(accounts.map((a) => [a.id, a.display_name]));
  const who = (id) => (id ? names.get(id) ?? t('seclog_unknown_account') : t('seclog_no_account'));
  const again = () => recordsView(main);

  async function erase(childId) {
    if (!await confirmDialog(t('erase_confirm_title'), t('erase_admin_confirm', { id: short(childId) }),
      t('erase_now'), true)) return;
    try {
      await post(`/admin/erasures/${childId}/confirm`);
      toast(t('erased_done'));
    } catch (e) { toast(errorText(e), 'error'); }
    await again();
  }

  async function reopen(childId) {
    try {
      await post(`/children/${childId}/reopen`);
      toast(t('reopened_done'));
    } catch (e) { toast(errorText(e), 'error'); }
    await again();
  }

  const requestRow = (r) => h('li', { class: 'record-row erase-request', dataset: { childId: r.child_id } },
    h('div', {},
      h('strong', { title: r.child_id }, t('record_child', { id: short(r.child_id) })),
      h('p', { class: 'muted' }, t('erase_requested_by', { who: who(r.requested_by), date: formatDateTime(r.requested_at) }))),
    h('button', { type: 'button', class: 'danger small confirm-erase', onclick: () => erase(r.child_id) }, t('erase_now')));
  const dueRow = (r) => h('li', { class: 'record-row retention-due', dataset: { childId: r.child_id } },
    h('div', {},
      h('strong', { title: r.child_id }, t('record_child', { id: short(r.child_id) })),
      h('p', { class: 'muted' }, t('retention_closed', { date: formatDateTime(r.closed_at), due: formatDateTime(r.due_at) }))),
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'secondary small reopen', onclick: () => reopen(r.child_id) }, t('reopen')),
      h('button', { type: 'button', class: 'danger small confirm-erase', onclick: () => erase(r.child_id) }, t('erase_now'))));

  mount(main,
    pageTitle(t('records_title')),
    h('p', { class: 'lead' }, t('records_lead')),
    h('section', { class: 'card', id: 'erase-requests' },
      h('h2', { class: 'section-title' }, t('erase_requests_title'), ` (${requests.length})`),
      requests.length ? h('ul', { class: 'record-list', role: 'list' }, requests.map(requestRow))
        : h('p', { class: 'empty' }, t('erase_requests_none'))),
    h('section', { class: 'card', id: 'retention-due' },
      h('h2', { class: 'section-title' }, t('retention_title'), ` (${due.length})`),
      h('p', { class: 'muted' }, t('retention_lead')),
      due.length ? h('ul', { class: 'record-list', role: 'list' }, due.map(dueRow))
        : h('p', { class: 'empty' }, t('retention_none'))));
}

/** The last block of an id (its random part: ids start with their time). */
function short(id) {
  return String(id).slice(-12);
}
