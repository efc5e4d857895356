// Accounts (アカウント管理), for an admin (every account) or an
// organization's admin (its organization's professionals): invite a new
// account, show the invitation once (code, link, printable QR), list the
// accounts with their status, and disable / enable / reset them.

import { h, mount, field } from '../dom.js';
import { t, label, formatDateTime, PROFESSIONS } from '../i18n.js';
import { invitationCard } from '../invitation.js';
import * as api from '../api.js';
import { get, post } from '../api.js';
import { pageTitle, loading, failure, errorBox, errorText, toast, confirmDialog, dialog } from '../ui.js';
import { leaverPanel } from './handovers.js';

const KINDS = ['professional', 'guardian', 'youth', 'admin'];

export async function accountsView(main) {
  const me = api.account();
  const admin = me?.kind === 'admin';
  const invitationBox = h('div', { id: 'invitation-box' });
  const listBox = h('div', {}, loading());
  let orgs = [];
  try { orgs = await get('/orgs'); } catch { /* names stay ids */ }
  const orgName = (id) => orgs.find((o) => o.id === id)?.name || '';
  const showInvitation = (acct, invitation) => {
    mount(invitationBox, invitationCard(acct, invitation, { orgName: orgName(acct.org_id), onClose: () => mount(invitationBox) }));
    invitationBox.querySelector('h2')?.focus();
  };
  const reload = () => loadList(listBox, { me, orgName, showInvitation });
  mount(main,
    pageTitle(t('accounts_title')),
    h('p', { class: 'lead' }, admin ? t('accounts_lead_admin') : t('accounts_lead_org', { org: orgName(me?.org_id) })),
    inviteForm({ admin, orgs, me }, async (acct, invitation) => { showInvitation(acct, invitation); await reload(); }),
    invitationBox,
    h('section', { class: 'accounts-list', 'aria-labelledby': 'accounts-list-title' },
      h('h2', { id: 'accounts-list-title', class: 'section-title' }, t('accounts_list_title')), listBox));
  await reload();
}

function inviteForm({ admin, orgs, me }, onInvited) {
  const err = errorBox();
  const login = h('input', { type: 'text', name: 'login', required: true, autocomplete: 'off', autocapitalize: 'none',
    spellcheck: 'false', maxlength: 64 });
  const name = h('input', { type: 'text', name: 'display_name', required: true, autocomplete: 'off', maxlength: 100 });
  const kind = h('select', { name: 'kind' }, KINDS.map((k) => h('option', { value: k }, label('acctkind', k))));
  const profession = h('select', { name: 'profession' },
    PROFESSIONS.map((p) => h('option', { value: p }, label('prof', p))));
  const org = h('select', { name: 'org_id' },
    h('option', { value: '' }, t('acct_no_org')),
    orgs.map((o) => h('option', { value: o.id, selected: o.id === me?.org_id }, o.name)));
  const orgAdmin = h('input', { type: 'checkbox', name: 'org_admin' });
  const profField = field(t('acct_profession'), profession);
  const orgField = field(t('acct_org'), org);
  const orgAdminLabel = h('label', { class: 'check org-admin-check' }, orgAdmin, t('acct_org_admin'));
  // Professions and organizations belong to professionals; only an admin
  // picks the kind, the organization and the org-admin right.
  const sync = () => {
    const pro = kind.value === 'professional';
    profField.wrap.hidden = !pro;
    orgField.wrap.hidden = !admin || !pro;
    orgAdminLabel.hidden = !admin || !pro;
  };
  kind.addEventListener('change', sync);
  const submit = h('button', { type: 'submit', class: 'primary', id: 'invite-create' }, t('invite_create'));
  const form = h('form', { class: 'card form invite-form', id: 'invite-form', novalidate: true },
    h('h2', {}, t('invite_form_title')),
    h('p', { class: 'hint' }, t('invite_form_lead')),
    h('div', { class: 'row' }, field(t('login_id'), login).wrap, field(t('acct_display_name'), name).wrap),
    admin ? field(t('acct_kind'), kind).wrap : h('p', { class: 'muted' }, t('invite_org_only', { org: orgs.find((o) => o.id === me?.org_id)?.name || '' })),
    profField.wrap, orgField.wrap, orgAdminLabel,
    err.el, submit);
  sync();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    const body = { login: login.value.trim(), display_name: name.value.trim(), kind: admin ? kind.value : 'professional' };
    if (!body.login) { err.show(t('required_field', { field: t('login_id') })); login.focus(); return; }
    if (!body.display_name) { err.show(t('required_field', { field: t('acct_display_name') })); name.focus(); return; }
    if (body.kind === 'professional') {
      body.profession = profession.value;
      if (admin && org.value) body.org_id = org.value;
      if (admin && orgAdmin.checked) body.org_admin = true;
    }
    submit.disabled = true;
    try {
      const res = await post('/accounts', body);
      form.reset();
      sync();
      await onInvited(res.account, res.invitation);
    } catch (e) {
      err.show(e.code === 'conflict' ? t('invite_login_taken') : errorText(e));
    } finally { submit.disabled = false; }
  });
  return form;
}

async function loadList(box, ctx) {
  let list;
  try { list = await get('/accounts?managed=true'); } catch (e) { mount(box, failure(e, () => loadList(box, ctx))); return; }
  const filter = h('input', { type: 'search', name: 'filter', autocomplete: 'off' });
  const ul = h('ul', { class: 'account-list', id: 'account-list', role: 'list' });
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const shown = list.filter((a) => !q || a.login.toLowerCase().includes(q) || a.display_name.toLowerCase().includes(q));
    mount(ul, shown.length ? shown.map((a) => accountItem(a, box, ctx)) : h('li', { class: 'muted' }, t('accounts_none')));
  };
  filter.addEventListener('input', draw);
  mount(box, field(t('accounts_filter'), filter).wrap, ul);
  draw();
}

function accountItem(a, box, ctx) {
  const self = a.id === ctx.me?.id;
  const status = a.status || (a.disabled ? 'disabled' : 'active');
  const act = async (kind) => {
    const name = a.display_name;
    const texts = {
      disable: [t('acct_disable'), t('acct_disable_confirm', { name }), true],
      enable: [t('acct_enable'), t('acct_enable_confirm', { name }), false],
      reset: [t('acct_reset'), t('acct_reset_confirm', { name }), true],
    }[kind];
    // A leaver who still holds notebooks: their open handovers first, and
    // the way to hand over the rest (the disable button stays available).
    const leaver = kind === 'disable' && a.kind === 'professional' ? await leaverPanel(a) : null;
    if (leaver) {
      const v = await dialog({
        title: texts[0],
        content: [h('p', {}, texts[1]), leaver],
        buttons: [{ label: t('cancel'), value: 'no' }, { label: texts[0], value: 'yes', class: 'danger', submit: true }],
      });
      if (v !== 'yes') return;
    } else if (!await confirmDialog(texts[0], texts[1], texts[0], texts[2])) return;
    try {
      const res = await post(`/accounts/${a.id}/${kind}`);
      if (kind === 'reset' && res?.invitation) ctx.showInvitation(a, res.invitation);
      toast(t(`acct_${kind}_done`, { name }));
    } catch (e) { toast(errorText(e), 'error'); }
    await loadList(box, ctx);
  };
  return h('li', { class: ['account', `account-${status}`], dataset: { accountId: a.id, login: a.login, status } },
    h('div', { class: 'account-head' },
      h('strong', { class: 'account-name' }, a.display_name, self ? t('member_you') : ''),
      h('span', { class: ['pill', `pill-acct-${status}`] }, label('acctstatus', status)),
      a.org_admin ? h('span', { class: 'pill pill-tier' }, t('acct_org_admin_badge')) : null),
    h('dl', { class: 'kv compact' },
      h('dt', {}, t('login_id')), h('dd', {}, h('code', {}, a.login)),
      h('dt', {}, t('acct_kind')), h('dd', {}, a.profession ? label('prof', a.profession) : label('acctkind', a.kind)),
      a.org_id ? [h('dt', {}, t('acct_org')), h('dd', {}, ctx.orgName(a.org_id) || a.org_id)] : null,
      status === 'invited' && a.invitation_expires_at
        ? [h('dt', {}, t('invite_expires')), h('dd', {}, formatDateTime(a.invitation_expires_at))] : null),
    self ? null : h('div', { class: 'buttons' },
      status === 'disabled'
        ? h('button', { type: 'button', class: 'secondary small enable-btn', onclick: () => act('enable') }, t('acct_enable'))
        : h('button', { type: 'button', class: 'danger small disable-btn', onclick: () => act('disable') }, t('acct_disable')),
      h('button', { type: 'button', class: 'secondary small reset-btn', onclick: () => act('reset') }, t('acct_reset'))));
}
