// Registering a child and inviting its guardians in one flow (issue 19),
// for a coordinator (a profession that registers children) or an admin:
// each guardian's account is made by invitation, then the child with those
// guardians, then one printable invitation sheet per guardian. A failure
// half-way keeps what was made: a second try invites only the guardians
// not yet invited and registers the child once.

import { h, mount, field } from '../dom.js';
import { t, label } from '../i18n.js';
import * as api from '../api.js';
import { post } from '../api.js';
import { invitationCard } from '../invitation.js';
import { pageTitle, errorBox, errorText, printArea } from '../ui.js';

const CREATORS = ['support_coordinator', 'public_health_nurse', 'administrator'];

/** Whether the signed-in account registers children (and invites their guardians). */
export function canRegisterChildren() {
  const a = api.account();
  return a?.kind === 'admin' || (a?.kind === 'professional' && CREATORS.includes(a.profession));
}

export function onboardView(main) {
  if (!canRegisterChildren()) {
    mount(main, pageTitle(t('onboard_title')), h('p', { class: 'notice' }, t('onboard_not_allowed')));
    return;
  }
  const err = errorBox();
  const input = (name, attrs = {}) => h('input', { type: 'text', name, autocomplete: 'off', ...attrs });
  const name = input('name', { required: true, maxlength: 100 });
  const kana = input('name_kana', { maxlength: 100 });
  const birth = h('input', { type: 'date', name: 'birth_date', required: true });
  const group = h('select', { name: 'disease_group', required: true },
    h('option', { value: '' }, t('onboard_choose')),
    Array.from({ length: 16 }, (_, i) => h('option', { value: String(i + 1) }, label('dg', i + 1))));
  const diagnosis = h('textarea', { name: 'diagnosis', rows: 2, maxlength: 2000 });
  const rows = h('ol', { class: 'guardian-rows', role: 'list' });
  const guardians = [];
  const addGuardian = () => {
    const g = { name: input('guardian_name', { maxlength: 100 }), login: input('guardian_login', {
      maxlength: 64, autocapitalize: 'none', spellcheck: 'false' }), made: null };
    g.el = h('li', { class: 'guardian-row' },
      h('div', { class: 'row' }, field(t('acct_display_name'), g.name).wrap, field(t('login_id'), g.login, t('onboard_login_hint')).wrap),
      h('button', { type: 'button', class: 'linkish small guardian-remove', onclick: () => {
        if (guardians.length < 2 || g.made) return;
        guardians.splice(guardians.indexOf(g), 1);
        g.el.remove();
      } }, t('onboard_remove_guardian')));
    guardians.push(g);
    rows.append(g.el);
    return g;
  };
  addGuardian();
  const submit = h('button', { type: 'submit', class: 'primary wide', id: 'onboard-submit' }, t('onboard_submit'));
  const form = h('form', { class: 'card form onboard-form', id: 'onboard-form', novalidate: true },
    h('fieldset', {}, h('legend', {}, t('onboard_child')),
      field(t('child_name'), name).wrap, field(t('child_name_kana'), kana).wrap,
      h('div', { class: 'row' }, field(t('child_birth_date'), birth).wrap, field(t('child_disease_group'), group).wrap),
      field(t('child_diagnosis'), diagnosis).wrap),
    h('fieldset', {}, h('legend', {}, t('onboard_guardians')),
      h('p', { class: 'hint' }, t('onboard_guardians_hint')), rows,
      h('button', { type: 'button', class: 'secondary small', id: 'onboard-add-guardian', onclick: () => addGuardian().name.focus() },
        t('onboard_add_guardian'))),
    err.el, submit);
  let child = null;

  // What the browser can check before anything is made on the server.
  const problem = () => {
    const need = (el, what) => (!el.value.trim() ? [el, t('required_field', { field: what })] : null);
    return need(name, t('child_name')) || need(birth, t('child_birth_date')) || need(group, t('child_disease_group'))
      || guardians.map((g) => need(g.name, t('acct_display_name')) || need(g.login, t('login_id'))).find(Boolean) || null;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    const p = problem();
    if (p) { err.show(p[1]); p[0].focus(); return; }
    submit.disabled = true;
    try {
      for (const g of guardians) {
        if (g.made) continue;
        const body = { login: g.login.value.trim(), display_name: g.name.value.trim(), kind: 'guardian' };
        try {
          g.made = await post('/accounts', body);
        } catch (e) {
          g.login.focus();
          throw (e.code === 'conflict' ? { message: t('onboard_login_taken', { login: body.login }) } : e);
        }
        g.name.disabled = true;
        g.login.disabled = true;
      }
      child ??= await post('/children', {
        name: name.value.trim(), name_kana: kana.value.trim(), birth_date: birth.value,
        disease_group: Number(group.value), diagnosis: diagnosis.value.trim(),
        guardians: guardians.map((g) => g.made.account.id),
      });
      done(main, child, guardians.map((g) => g.made));
    } catch (e) {
      err.show(e.message && !e.code ? e.message : errorText(e));
    } finally { submit.disabled = false; }
  });
  mount(main, pageTitle(t('onboard_title')), h('p', { class: 'lead' }, t('onboard_lead')), form);
  name.focus();
}

/** The child is registered: one invitation sheet per guardian, printable. */
function done(main, child, made) {
  const sheets = h('div', { class: 'onboard-sheets', id: 'onboard-sheets' },
    made.map((m) => invitationCard(m.account, m.invitation, { ids: false })));
  mount(main,
    pageTitle(t('onboard_title')),
    h('section', { class: 'card onboard-done', id: 'onboard-done', dataset: { childId: child.id } },
      h('p', { class: 'notice', role: 'status' }, t('onboard_done', { name: child.name, n: made.length })),
      h('p', {}, t('onboard_next')),
      h('div', { class: 'buttons' },
        made.length > 1 ? h('button', { type: 'button', class: 'primary', id: 'onboard-print-all',
          onclick: () => printArea(sheets) }, t('onboard_print_all')) : null,
        h('a', { href: '#/', class: 'button secondary' }, t('back_to_children')))),
    sheets);
  main.querySelector('#page-title')?.focus();
}
