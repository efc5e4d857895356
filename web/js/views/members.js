// Members and consent. The consent holder (the guardians, or the young
// person once consent has passed to them): approve pending requests, see and
// narrow each member's scope, revoke, add, pass consent on. Everyone else
// (professionals, and the youth before the transfer): see the members,
// request access for a colleague, leave.

import { h, mount, field } from '../dom.js';
import { t, label, formatDateTime, CATEGORIES } from '../i18n.js';
import { get, post, patch, account } from '../api.js';
import { getMembers } from '../store.js';
import { categoryChip } from '../entry.js';
import { childHead } from './childhead.js';
import { loading, failure, toast, errorText, errorBox, confirmDialog, dialog, printArea } from '../ui.js';
import { navigate } from '../app.js';
import { handoverSection } from './handovers.js';
import { accountPicker } from '../picker.js';
import * as live from '../live.js';

// Professions that coordinate a child's support (they register children).
const COORDINATING = ['support_coordinator', 'public_health_nurse', 'administrator'];

export async function membersView(main, childId) {
  mount(main, loading());
  let child; let members; let orgs = [];
  const load = async () => {
    [child, members, orgs] = await Promise.all([get(`/children/${childId}`), getMembers(childId, true),
      get('/orgs').catch(() => orgs)]);
  };
  const orgOf = (m) => orgs.find((o) => o.id === m.org_id) || null;
  try { await load(); } catch (e) { mount(main, failure(e, () => membersView(main, childId))); return; }
  const me = members.find((m) => m.account_id === account()?.id);
  // Who decides: a guardian until consent passes to the young person.
  const holderRole = child.consent_holder === 'youth' ? 'youth' : 'guardian';
  const family = Boolean(me && me.status === 'active' && me.role === holderRole);
  const body = h('div', { class: 'stack' });
  mount(main, childHead(child, 'members', me?.role), h('h2', { class: 'section-title' }, t('members_title')), body);

  const refresh = async () => {
    try { await load(); draw(); } catch (e) { mount(body, failure(e, refresh)); }
  };
  const act = async (fn, okText) => {
    try { await fn(); if (okText) toast(okText); await refresh(); } catch (e) { toast(errorText(e), 'error'); }
  };

  function draw() {
    const requested = members.filter((m) => m.status === 'requested');
    const active = members.filter((m) => m.status === 'active');
    const ended = members.filter((m) => m.status === 'revoked' || m.status === 'expired');
    mount(body,
      consentNote(),
      h('p', { class: 'relymap-actions' }, h('button', { type: 'button', class: 'secondary small', id: 'relymap-print',
        onclick: () => printArea(relyMap(child, active, orgOf)) }, t('relymap_print'))),
      requested.length ? section(t('members_requested'), requested, 'requested') : null,
      section(t('members_active'), active, 'active'),
      ended.length ? section(t('members_ended'), ended, 'ended') : null,
      handovers(),
      recordEnd(),
      addForm(child, family, refresh),
      !family && me && me.role !== 'youth' ? h('p', {}, h('button', {
        type: 'button', class: 'linkish danger-text', onclick: () => leave(),
      }, t('leave'))) : null);
  }

  // The end of the record: closing the notebook when support ends (the
  // consent holder or a coordinator member), and asking for its erasure
  // (the consent holder; an administrator confirms).
  function recordEnd() {
    const coordinator = COORDINATING.includes(account()?.profession);
    const canClose = !child.closed_at && me?.status === 'active' && (family || coordinator);
    if (!family && !canClose && !child.closed_at) return null;
    return h('section', { class: 'card record-end', id: 'record-end' },
      h('h3', {}, t('record_end_title')),
      child.closed_at ? h('p', { class: 'closed-note' }, t('closed_since', { date: formatDateTime(child.closed_at) }))
        : h('p', { class: 'muted' }, t('record_end_lead')),
      h('div', { class: 'buttons' },
        canClose ? h('button', { type: 'button', class: 'secondary small', id: 'close-btn', onclick: () => closeNotebook() },
          t('close_notebook')) : null,
        family ? h('button', { type: 'button', class: 'danger small', id: 'erase-btn', onclick: () => askErasure() },
          t('erase_request')) : null));
  }

  async function closeNotebook() {
    if (!await confirmDialog(t('close_notebook'), t('close_confirm', { name: child.name }), t('close_notebook'))) return;
    await act(() => post(`/children/${childId}/close`), t('closed_done'));
  }

  async function askErasure() {
    if (!await confirmDialog(t('erase_request'), t('erase_confirm', { name: child.name }), t('erase_request'), true)) return;
    await act(() => post(`/children/${childId}/erase`), t('erase_requested'));
  }

  // The notebook's handovers, filled in when they arrive.
  function handovers() {
    const box = h('div', { class: 'handover-area' });
    handoverSection(childId, members, me, family, refresh).then((el) => mount(box, el));
    return box;
  }

  function section(title, list, kind) {
    return h('section', { class: ['member-section', `members-${kind}`] },
      h('h3', {}, title, ` (${list.length})`),
      h('ul', { class: 'member-list', role: 'list' }, list.map(memberItem)));
  }

  function memberItem(m) {
    const mine = m.account_id === account()?.id;
    // Before the transfer no guardian manages another, nor the youth's row;
    // after it the young person decides on everyone, guardians included.
    const guardianRow = holderRole === 'guardian' ? (m.role === 'guardian' || m.role === 'youth') : m.role === 'youth';
    return h('li', { class: ['member', `status-${m.status}`, m.disabled ? 'member-disabled' : null],
      dataset: m.disabled ? { accountId: m.account_id, disabled: 'true' } : { accountId: m.account_id } },
      h('div', { class: 'member-head' },
        h('strong', { class: 'member-name' }, m.display_name, mine ? t('member_you') : ''),
        h('span', { class: 'member-prof' }, m.profession ? label('prof', m.profession) : label('role', m.role)),
        h('span', { class: ['pill', `pill-${m.status}`] }, label('status', m.status)),
        // The account was disabled: the membership stays, the person has left.
        m.disabled ? h('span', { class: 'pill pill-disabled disabled-badge', title: t('member_disabled_hint') },
          t('member_disabled')) : null),
      m.purpose ? h('p', { class: 'member-purpose' }, `${t('member_purpose')}：${m.purpose}`) : null,
      h('div', { class: 'chips', 'aria-label': t('member_categories') }, m.categories.map(categoryChip)),
      h('dl', { class: 'kv compact', dataset: { family: String(isFamily(m)) } },
        whereFrom(m, orgOf(m)),
        h('dt', {}, t('member_can_post')), h('dd', {}, m.can_post ? t('member_can_post_yes') : t('member_can_post_no')),
        h('dt', {}, t('member_history_from')),
        h('dd', {}, m.history_from ? t('member_history_since', { date: formatDateTime(m.history_from) }) : t('member_history_all')),
        h('dt', {}, t('member_expires')),
        h('dd', {}, m.expires_at ? formatDateTime(m.expires_at) : t('member_no_expiry'))),
      family && !guardianRow && !mine ? h('div', { class: 'buttons' },
        m.status === 'requested' ? [
          h('button', { type: 'button', class: 'primary small approve-btn', onclick: () => act(
            () => post(`/children/${childId}/members/${m.account_id}/approve`), t('member_updated')) }, t('approve')),
          h('button', { type: 'button', class: 'secondary small', onclick: () => revoke(m) }, t('reject')),
        ] : null,
        m.status === 'active' ? [
          h('button', { type: 'button', class: 'secondary small edit-btn', onclick: () => edit(m) }, t('edit_consent')),
          h('button', { type: 'button', class: 'danger small revoke-btn', onclick: () => revoke(m) }, t('revoke')),
        ] : null) : null);
  }

  // Who manages consent, and the way to pass it to the young person: the
  // guardian's button, or the youth's own request (refused under the age).
  function consentNote() {
    const youth = members.find((m) => m.role === 'youth' && m.status === 'active');
    const passed = child.consent_holder === 'youth';
    const text = passed
      ? t('consent_holder_youth', { date: formatDateTime(child.consent_transferred_at) })
      : t('consent_holder_guardians');
    const canPass = !passed && youth && me?.status === 'active'
      && (me.role === 'guardian' || me.role === 'youth');
    return h('div', { class: 'card consent-note', id: 'consent-note', dataset: { holder: child.consent_holder } },
      h('p', {}, text),
      canPass ? h('button', {
        type: 'button', class: 'secondary small', id: 'transfer-btn',
        onclick: () => transfer(youth),
      }, me.role === 'youth' ? t('transfer_request_button') : t('transfer_button')) : null);
  }

  async function transfer(youth) {
    const text = me.role === 'youth'
      ? t('transfer_self_confirm') : t('transfer_confirm', { name: youth.display_name });
    const ok = await confirmDialog(me.role === 'youth' ? t('transfer_request_button') : t('transfer_button'),
      text, me.role === 'youth' ? t('transfer_request_button') : t('transfer_button'));
    if (!ok) return;
    try {
      await post(`/children/${childId}/transfer`);
      toast(t('transfer_done'));
      await membersView(main, childId);
    } catch (e) {
      // The youth's own request before the consent age.
      const young = e.code === 'forbidden' && me.role === 'youth';
      toast(young ? t('transfer_too_young') : errorText(e), 'error');
    }
  }

  async function revoke(m) {
    if (!await confirmDialog(t('revoke'), t('revoke_confirm', { name: m.display_name }), t('revoke'), true)) return;
    await act(() => post(`/children/${childId}/members/${m.account_id}/revoke`), t('member_updated'));
  }

  async function leave() {
    if (!await confirmDialog(t('leave'), t('leave_confirm'), t('leave'), true)) return;
    try {
      await post(`/children/${childId}/members/${account().id}/revoke`);
      navigate('/');
    } catch (e) { toast(errorText(e), 'error'); }
  }

  async function edit(m) {
    const boxes = categoryBoxes(m.categories);
    const canPost = h('input', { type: 'checkbox', checked: m.can_post });
    const hist = h('input', { type: 'datetime-local', value: toLocalInput(m.history_from) });
    const exp = h('input', { type: 'datetime-local', value: toLocalInput(m.expires_at) });
    const v = await dialog({
      title: t('consent_edit_title', { name: m.display_name }),
      content: [boxes.el,
        h('label', { class: 'check' }, canPost, t('member_can_post')),
        field(t('history_from'), hist).wrap, field(t('expires_at'), exp).wrap],
      buttons: [{ label: t('cancel'), value: 'no' }, { label: t('save'), value: 'yes', class: 'primary', submit: true }],
    });
    if (v !== 'yes') return;
    const bodyPatch = { categories: boxes.value(), can_post: canPost.checked };
    // An emptied field clears the limit (null), an untouched empty one is left out.
    if (hist.value) bodyPatch.history_from = fromLocalInput(hist.value);
    else if (m.history_from) bodyPatch.history_from = null;
    if (exp.value) bodyPatch.expires_at = fromLocalInput(exp.value);
    else if (m.expires_at) bodyPatch.expires_at = null;
    await act(() => patch(`/children/${childId}/members/${m.account_id}`, bodyPatch), t('member_updated'));
  }

  draw();
  // A handover opened or decided elsewhere shows here at once.
  return live.on('handover', (f) => { if (f.child_id === childId) refresh(); });
}

const isFamily = (m) => m.role === 'guardian' || m.role === 'youth';

/** Where a member comes from (terms of a <dl>): the organization and its contact window, or the family. */
function whereFrom(m, org) {
  const family = isFamily(m);
  return [
    h('dt', {}, t('member_org')),
    h('dd', { class: 'member-org-name' }, family ? t('member_family') : (org?.name || t('member_no_org'))),
    !family && org?.contact ? [h('dt', {}, t('member_contact')), h('dd', { class: 'member-contact' }, org.contact)] : null];
}

/**
 * 相談先マップ: who to rely on for this child, as a clean printed page (the
 * family first, then each professional with its organization's contact
 * window). Made fresh for each print and shown only in print.
 */
function relyMap(child, active, orgOf) {
  document.getElementById('relymap')?.remove();
  const sorted = [...active.filter(isFamily), ...active.filter((m) => !isFamily(m))
    .sort((a, b) => (orgOf(a)?.name || '').localeCompare(orgOf(b)?.name || '', 'ja'))];
  const map = h('section', { class: 'relymap print-only', id: 'relymap' },
    h('h1', {}, t('relymap_title', { name: child.name })),
    h('p', { class: 'relymap-date' }, t('relymap_as_of', { date: formatDateTime(new Date().toISOString()) })),
    h('table', {},
      h('thead', {}, h('tr', {}, ['relymap_col_name', 'relymap_col_role', 'relymap_col_org', 'relymap_col_contact']
        .map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, sorted.map((m) => {
        const org = orgOf(m);
        return h('tr', {},
          h('td', {}, m.display_name),
          h('td', {}, m.profession ? label('prof', m.profession) : label('role', m.role)),
          h('td', {}, isFamily(m) ? t('member_family') : (org?.name || '')),
          h('td', {}, isFamily(m) ? '' : (org?.contact || '')));
      }))),
    h('p', { class: 'relymap-note' }, t('relymap_note')));
  document.getElementById('main').append(map);
  return map;
}

export function categoryBoxes(selected) {
  const inputs = CATEGORIES.map((c) => h('input', { type: 'checkbox', value: c, checked: selected.includes(c) }));
  const el = h('fieldset', { class: 'checks' },
    h('legend', {}, t('member_categories')),
    inputs.map((inp, i) => h('label', { class: 'check' }, inp, categoryChip(CATEGORIES[i]))));
  return { el, value: () => inputs.filter((i) => i.checked).map((i) => i.value) };
}

// datetime-local works in the browser's zone; the API speaks UTC RFC 3339.
function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const off = d.getTimezoneOffset() * 60000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}
function fromLocalInput(v) { return new Date(v).toISOString(); }

function addForm(child, family, onDone) {
  const err = errorBox();
  const picker = accountPicker({ name: 'query', labelText: t('search_accounts'), err, kind: 'member' });
  const boxes = categoryBoxes([]);
  const canPost = h('input', { type: 'checkbox', checked: true });
  const purpose = h('input', { type: 'text', name: 'purpose', required: true, maxlength: 500 });
  const hist = h('input', { type: 'datetime-local' });
  const exp = h('input', { type: 'datetime-local' });
  const submit = h('button', { type: 'submit', class: 'primary' }, family ? t('submit_add') : t('submit_request'));

  const form = h('form', { class: 'card form add-member' },
    h('h3', {}, family ? t('add_member_title') : t('request_member_title')),
    family ? null : h('p', { class: 'muted' }, t('request_member_lead')),
    picker.el, boxes.el,
    h('label', { class: 'check' }, canPost, t('member_can_post')),
    field(t('purpose'), purpose).wrap,
    field(t('history_from'), hist).wrap,
    field(t('expires_at'), exp).wrap,
    err.el, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    const chosen = picker.chosen();
    if (!chosen) { err.show(t('required_field', { field: t('search_accounts') })); return; }
    const cats = boxes.value();
    if (!cats.length) { err.show(t('required_field', { field: t('member_categories') })); return; }
    const body = { account_id: chosen.id, categories: cats, can_post: canPost.checked, purpose: purpose.value.trim() };
    if (hist.value) body.history_from = fromLocalInput(hist.value);
    if (exp.value) body.expires_at = fromLocalInput(exp.value);
    submit.disabled = true;
    try {
      await post(`/children/${child.id}/members`, body);
      toast(family ? t('member_added') : t('member_requested'));
      await onDone();
    } catch (e) {
      err.show(errorText(e));
    } finally { submit.disabled = false; }
  });
  return form;
}
