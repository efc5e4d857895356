// Handover (引継ぎ) when staff move. In a notebook's member list: the open
// and past handovers, the consent holder's one-tap approval (or narrowed,
// or declined), and, for a professional member or a coordinator, the form
// that opens one. On the children list: the handovers waiting for me. On the
// accounts screen: a leaver's notebooks and open handovers before disabling,
// and one handover for every notebook of the leaver.

import { h, mount, field } from '../dom.js';
import { t, label, formatDateTime, CATEGORIES } from '../i18n.js';
import { get, post } from '../api.js';
import { categoryChip } from '../entry.js';
import { accountPicker } from '../picker.js';
import { toast, errorText, errorBox, dialog, confirmDialog } from '../ui.js';

const COORDINATORS = ['support_coordinator', 'public_health_nurse', 'administrator'];

// Checkboxes of the categories, `selected` ticked.
function boxes(selected) {
  const inputs = CATEGORIES.map((c) => h('input', { type: 'checkbox', value: c, checked: selected.includes(c) }));
  const el = h('fieldset', { class: 'checks' },
    h('legend', {}, t('member_categories')),
    inputs.map((inp, i) => h('label', { class: 'check' }, inp, categoryChip(CATEGORIES[i]))));
  return { el, value: () => inputs.filter((i) => i.checked).map((i) => i.value) };
}

// Approve in one tap; `narrowed` asks first what the successor gets.
async function approve(childId, ho, fromMember, narrowed, done) {
  let body = {};
  if (narrowed) {
    if (!fromMember) {
      try {
        const list = await get(`/children/${childId}/members`);
        fromMember = list.find((m) => m.account_id === ho.from_account);
      } catch { /* the boxes start empty */ }
    }
    const b = boxes(fromMember?.categories || []);
    const canPost = h('input', { type: 'checkbox', checked: fromMember?.can_post ?? true });
    const recent = h('input', { type: 'checkbox' });
    const v = await dialog({
      title: t('handover_narrow_title', { name: ho.to_name }),
      content: [b.el, h('label', { class: 'check' }, canPost, t('member_can_post')),
        h('label', { class: 'check' }, recent, t('handover_recent_only'))],
      buttons: [{ label: t('cancel'), value: 'no' }, { label: t('approve'), value: 'yes', class: 'primary', submit: true }],
    });
    if (v !== 'yes') return;
    const cats = b.value();
    if (!cats.length) { toast(t('required_field', { field: t('member_categories') }), 'error'); return; }
    body = { categories: cats, can_post: canPost.checked };
    if (recent.checked) body.history_from = new Date().toISOString();
  }
  try {
    await post(`/children/${childId}/handovers/${ho.id}/approve`, body);
    toast(t('handover_approved', { name: ho.to_name }));
  } catch (e) { toast(errorText(e), 'error'); }
  await done();
}

async function decline(childId, ho, done) {
  if (!await confirmDialog(t('reject'), t('handover_decline_confirm', { name: ho.to_name }), t('reject'), true)) return;
  try {
    await post(`/children/${childId}/handovers/${ho.id}/decline`);
    toast(t('handover_declined'));
  } catch (e) { toast(errorText(e), 'error'); }
  await done();
}

// One handover: who to whom, the overlap, the note, where it stands.
function handoverItem(childId, ho, { decides, fromMember, done, childName }) {
  const open = ho.status === 'requested';
  return h('li', { class: ['handover', `handover-${ho.status}`], dataset: { handoverId: ho.id, childId } },
    h('p', { class: 'handover-who' }, childName
      ? t('handover_item_child', { from: ho.from_name, to: ho.to_name, child: childName })
      : t('handover_item', { from: ho.from_name, to: ho.to_name })),
    h('p', { class: 'muted' },
      t('handover_overlap', { n: ho.overlap_days }), ' · ',
      h('span', { class: ['pill', `pill-handover-${ho.status}`] }, label('hostatus', ho.status)),
      ' · ', formatDateTime(ho.decided_at || ho.created_at)),
    ho.note ? h('p', { class: 'handover-note' }, ho.note) : null,
    open && decides ? h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'primary small approve-handover',
        onclick: () => approve(childId, ho, fromMember, false, done) }, t('handover_approve')),
      h('button', { type: 'button', class: 'secondary small narrow-handover',
        onclick: () => approve(childId, ho, fromMember, true, done) }, t('request_approve_narrow')),
      h('button', { type: 'button', class: 'secondary small decline-handover',
        onclick: () => decline(childId, ho, done) }, t('reject'))) : null);
}

// The form that opens a handover: of my own membership, or (a coordinator)
// of any professional member's.
function openForm(childId, members, me, done) {
  const err = errorBox();
  const pros = members.filter((m) => m.status === 'active' && m.role === 'member');
  const coordinator = COORDINATORS.includes(me.profession);
  const from = h('select', { name: 'from' },
    (coordinator ? pros : pros.filter((m) => m.account_id === me.account_id)).map((m) =>
      h('option', { value: m.account_id, selected: m.account_id === me.account_id },
        `${m.display_name}（${label('prof', m.profession)}）`)));
  const picker = accountPicker({ name: 'successor', labelText: t('handover_successor'), err, kind: 'successor' });
  const overlap = h('input', { type: 'number', name: 'overlap_days', min: 0, max: 365, value: 14, inputmode: 'numeric' });
  const note = h('textarea', { name: 'note', rows: 3, maxlength: 2000 });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'handover-submit' }, t('handover_open'));
  const form = h('form', { class: 'card form handover-form', id: 'handover-form', novalidate: true },
    h('h3', {}, t('handover_form_title')),
    h('p', { class: 'muted' }, t('handover_form_lead')),
    field(t('handover_from'), from).wrap,
    picker.el,
    field(t('handover_overlap_days'), overlap, t('handover_overlap_hint')).wrap,
    field(t('handover_note'), note, t('handover_note_hint')).wrap,
    err.el, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    const to = picker.chosen();
    if (!to) { err.show(t('required_field', { field: t('handover_successor') })); return; }
    const days = Number(overlap.value);
    if (!Number.isInteger(days) || days < 0 || days > 365) { err.show(t('handover_overlap_bad')); return; }
    submit.disabled = true;
    try {
      await post(`/children/${childId}/handovers`, {
        from_account: from.value, to_account: to.id, overlap_days: days, note: note.value.trim() || undefined,
      });
      toast(t('handover_opened'));
      await done();
    } catch (e) { err.show(errorText(e)); } finally { submit.disabled = false; }
  });
  return form;
}

// The notebook's handovers, for its member list. `me` is my membership.
export async function handoverSection(childId, members, me, decides, done) {
  let list = [];
  try { list = await get(`/children/${childId}/handovers`); } catch { /* shown without them */ }
  const byId = (id) => members.find((m) => m.account_id === id);
  const professional = me && me.status === 'active' && me.role === 'member';
  const el = h('section', { class: 'member-section handovers', id: 'handovers' },
    h('h3', {}, t('handover_title'), ` (${list.length})`),
    list.length ? h('ul', { class: 'handover-list', role: 'list' }, list.slice().reverse().map((ho) =>
      handoverItem(childId, ho, { decides, fromMember: byId(ho.from_account), done })))
      : h('p', { class: 'muted' }, t('handover_none')),
    professional ? openForm(childId, members, me, done) : null);
  return el;
}

// The handovers waiting for my decision, across my children.
export function pendingHandoverList(pending, done) {
  return h('ul', { class: 'handover-list pending-handovers', role: 'list' }, pending.map((p) =>
    handoverItem(p.child_id, p.handover, { decides: true, done, childName: p.child_name })));
}

// Before disabling a leaver: the notebooks it still holds, the open
// handovers, and a form opening one for every notebook left.
export async function leaverPanel(acct) {
  let info;
  try { info = await get(`/handovers?from_account=${acct.id}`); } catch { return null; }
  if (!info.children && !info.handovers.length) return null;
  const err = errorBox();
  const picker = accountPicker({ name: 'successor', labelText: t('handover_successor'), err, kind: 'successor' });
  const submit = h('button', { type: 'button', class: 'secondary small', id: 'leaver-handover-submit' }, t('handover_all_open'));
  const status = h('p', { class: 'leaver-status', 'aria-live': 'polite' },
    t('handover_leaver_status', { n: info.children, open: info.handovers.length, left: info.without_handover }));
  submit.addEventListener('click', async () => {
    err.clear();
    const to = picker.chosen();
    if (!to) { err.show(t('required_field', { field: t('handover_successor') })); return; }
    submit.disabled = true;
    try {
      const r = await post('/handovers', { from_account: acct.id, to_account: to.id });
      toast(t('handover_all_opened', { n: r.handovers.length }));
      status.textContent = t('handover_leaver_status', {
        n: info.children, open: info.handovers.length + r.handovers.length,
        left: Math.max(0, info.without_handover - r.handovers.length),
      });
    } catch (e) { err.show(errorText(e)); } finally { submit.disabled = false; }
  });
  return h('div', { class: 'leaver-panel', id: 'leaver-panel' },
    status,
    info.handovers.length ? h('ul', { class: 'leaver-handovers', role: 'list' }, info.handovers.map((ho) =>
      h('li', {}, t('handover_leaver_item', { to: ho.to_name, date: formatDateTime(ho.created_at) })))) : null,
    info.without_handover ? [picker.el, err.el, submit] : null);
}
