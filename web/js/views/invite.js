// Accepting an invitation (#/invite/CODE, or #/invite to type the code):
// the new user chooses a password and is logged in, or goes on to enrol
// TOTP first where the policy asks for it.

import { h, mount, field } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { errorBox, errorText, pageTitle } from '../ui.js';
import { loggedIn, navigate } from '../app.js';
import { newPasswordFields } from './password.js';
import { forcedEnrolment, setLoginNotice } from './login.js';

export function inviteView(main, code = '') {
  main.className = 'narrow';
  if (api.currentSession()) { signedIn(main); return; }
  const err = errorBox();
  const codeInput = h('input', { type: 'text', name: 'code', value: code || '', required: true, autocomplete: 'off',
    autocapitalize: 'characters', spellcheck: 'false', class: 'invite-code-input' });
  const pw = newPasswordFields();
  const submit = h('button', { type: 'submit', class: 'primary wide', id: 'invite-submit' }, t('invite_submit'));
  const form = h('form', { class: 'card form invite-accept', novalidate: true },
    field(t('invite_code'), codeInput, t('invite_code_hint')).wrap,
    pw.els, err.el, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    pw.clear();
    const value = codeInput.value.trim();
    if (!value) { err.show(t('required_field', { field: t('invite_code') })); codeInput.focus(); return; }
    const problem = pw.check();
    if (problem) { err.show(problem); pw.input.focus(); return; }
    submit.disabled = true;
    try {
      await api.acceptInvitation(value, pw.input.value);
      loggedIn();
    } catch (e) {
      submit.disabled = false;
      if (e.code === 'weak_password') pw.showWeak(e.message);
      else if (e.code === 'totp_enrollment_required') {
        forcedEnrolment(main, e.body?.enrollment_token, () => { setLoginNotice('totp_enrolled'); navigate('/login'); });
      } else if (e.code === 'invalid_credentials') { err.show(t('invite_invalid')); codeInput.focus(); }
      else err.show(errorText(e));
    }
  });
  mount(main,
    pageTitle(t('invite_title')),
    h('p', { class: 'lead' }, t('invite_lead')),
    form,
    h('p', {}, h('a', { href: '#/login' }, t('invite_to_login'))));
  (code ? pw.input : codeInput).focus();
}

// A browser already logged in: accepting would replace that session.
function signedIn(main) {
  mount(main,
    pageTitle(t('invite_title')),
    h('p', { class: 'notice', role: 'status' }, t('invite_signed_in', { name: api.account()?.display_name || '' })),
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'primary', id: 'invite-logout', onclick: () => api.logout() }, t('invite_logout_first')),
      h('a', { href: '#/', class: 'button secondary' }, t('back_to_children'))));
}
