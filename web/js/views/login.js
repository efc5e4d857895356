// Login: password, then a TOTP code (or a recovery code) when the server
// asks for one, or the TOTP enrolment flow when the account must enrol
// first. The page says why the last session ended, when it did not end by
// the user's own logout.

import { h, mount, field } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { errorBox, errorText, pageTitle } from '../ui.js';
import { loggedIn } from '../app.js';
import { codeInput, enrolForm } from './totp.js';

let pendingNotice = null;

/** A notice for the next login page: 'totp_enrolled'. */
export function setLoginNotice(kind) { pendingNotice = kind; }

export function loginView(main) {
  main.className = 'narrow';
  const reason = api.endReason();
  const notice = pendingNotice || (reason === 'expired' || reason === 'ended' ? reason : null);
  pendingNotice = null;
  passwordStep(main, notice);
}

const NOTICES = { expired: 'session_expired_notice', ended: 'session_ended_notice', totp_enrolled: 'totp_enrolled_login' };

function passwordStep(main, notice) {
  const err = errorBox();
  const loginInput = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false', inputmode: 'email' });
  const pwInput = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary wide' }, t('login_submit'));
  const form = h('form', { class: 'card form', novalidate: false },
    notice ? h('p', { class: ['notice', `notice-${notice}`], id: 'session-notice', role: 'status', dataset: { reason: notice } },
      t(NOTICES[notice])) : null,
    field(t('login_id'), loginInput).wrap,
    field(t('password'), pwInput).wrap,
    err.el,
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    submit.disabled = true;
    const creds = { login: loginInput.value.trim(), password: pwInput.value };
    try {
      await api.login(creds.login, creds.password);
      loggedIn();
    } catch (e) {
      submit.disabled = false;
      if (e.code === 'totp_required') secondStep(main, creds);
      else if (e.code === 'totp_enrollment_required') forcedEnrolment(main, e.body?.enrollment_token, () => secondStep(main, creds, 'totp_enrolled'));
      else if (e.code === 'invalid_credentials') { err.show(t('login_invalid')); pwInput.select(); }
      else err.show(errorText(e));
    }
  });
  mount(main,
    pageTitle(t('login_title')),
    h('p', { class: 'lead' }, t('login_lead')),
    form,
    h('p', { class: 'login-invite' }, h('a', { href: '#/invite', id: 'have-invite' }, t('have_invitation'))));
  loginInput.focus();
}

/** The second factor: a code of the authenticator app, or a recovery code. */
function secondStep(main, creds, notice, recovery = false) {
  const err = errorBox();
  const input = recovery
    ? h('input', { type: 'text', name: 'recovery_code', autocomplete: 'off', autocapitalize: 'none',
      spellcheck: 'false', required: true, class: 'recovery-input' })
    : codeInput();
  const submit = h('button', { type: 'submit', class: 'primary wide' }, t('totp_submit'));
  const form = h('form', { class: 'card form', novalidate: true },
    notice ? h('p', { class: 'notice', id: 'session-notice', role: 'status', dataset: { reason: notice } }, t(NOTICES[notice])) : null,
    h('p', {}, recovery ? t('recovery_login_lead') : t('totp_lead')),
    field(recovery ? t('recovery_code') : t('totp_code'), input).wrap, err.el, submit,
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'linkish', id: recovery ? 'use-totp' : 'use-recovery',
        onclick: () => secondStep(main, creds, null, !recovery) }, recovery ? t('use_totp') : t('use_recovery')),
      h('button', { type: 'button', class: 'linkish', onclick: () => passwordStep(main) }, t('back'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    const value = input.value.trim();
    if (!value) { err.show(t('required_field', { field: recovery ? t('recovery_code') : t('totp_code') })); return; }
    submit.disabled = true;
    try {
      await api.login(creds.login, creds.password, recovery ? { recovery_code: value } : { totp: value.replace(/\s+/g, '') });
      loggedIn();
    } catch (e) {
      submit.disabled = false;
      const wrong = e.code === 'totp_required' || e.code === 'invalid_credentials';
      err.show(wrong ? t(recovery ? 'recovery_invalid' : 'totp_invalid') : errorText(e));
      input.select();
    }
  });
  mount(main, pageTitle(recovery ? t('recovery_title_login') : t('totp_title')), form);
  input.focus();
}

/**
 * The enrolment an account must make before its first login (also after an
 * invitation): the enrolment token alone opens the enrolment endpoints.
 * `next()` follows once the recovery codes are saved.
 */
export async function forcedEnrolment(main, token, next) {
  main.className = 'narrow';
  const box = h('div', {}, h('p', { class: 'loading', role: 'status' }, t('loading')));
  mount(main, pageTitle(t('totp_enroll_title')), box);
  let enrolment;
  try {
    enrolment = await api.apiWithToken('POST', '/me/totp', {}, token);
  } catch (e) {
    const err = errorBox();
    err.show(errorText(e));
    mount(box, err.el, h('button', { type: 'button', class: 'secondary', onclick: () => passwordStep(main) }, t('back')));
    return;
  }
  enrolForm(box, enrolment, {
    lead: t('totp_enroll_lead'),
    confirm: (code) => api.apiWithToken('POST', '/me/totp/confirm', { code }, token),
    onDone: next,
  });
}
