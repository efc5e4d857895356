// Login: password, then a TOTP code when the server asks for one, or the
// TOTP enrolment flow when the account must enrol first.

import { h, mount, field } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { errorBox, errorText, pageTitle } from '../ui.js';
import { loggedIn } from '../app.js';

export function loginView(main) {
  main.className = 'narrow';
  passwordStep(main);
}

function passwordStep(main, notice) {
  const err = errorBox();
  const loginInput = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false', inputmode: 'email' });
  const pwInput = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary wide' }, t('login_submit'));
  const form = h('form', { class: 'card form', novalidate: false },
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
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
      if (e.code === 'totp_required') totpStep(main, creds);
      else if (e.code === 'totp_enrollment_required') enrolStep(main, creds, e.body?.enrollment_token);
      else if (e.code === 'invalid_credentials') { err.show(t('login_invalid')); pwInput.select(); }
      else err.show(errorText(e));
    }
  });
  mount(main,
    pageTitle(t('login_title')),
    h('p', { class: 'lead' }, t('login_lead')),
    form);
  loginInput.focus();
}

function codeInput() {
  return h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code',
    pattern: '[0-9]{6}', maxlength: '6', required: true, class: 'code' });
}

function totpStep(main, creds) {
  const err = errorBox();
  const code = codeInput();
  const submit = h('button', { type: 'submit', class: 'primary wide' }, t('totp_submit'));
  const form = h('form', { class: 'card form' },
    h('p', {}, t('totp_lead')),
    field(t('totp_code'), code).wrap, err.el, submit,
    h('button', { type: 'button', class: 'linkish', onclick: () => passwordStep(main) }, t('back')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    submit.disabled = true;
    try {
      await api.login(creds.login, creds.password, code.value.trim());
      loggedIn();
    } catch (e) {
      submit.disabled = false;
      err.show(e.code === 'totp_required' || e.code === 'invalid_credentials' ? t('totp_invalid') : errorText(e));
      code.select();
    }
  });
  mount(main, pageTitle(t('totp_title')), form);
  code.focus();
}

async function enrolStep(main, creds, token) {
  const err = errorBox();
  let data;
  try {
    data = await api.apiWithToken('POST', '/me/totp', {}, token);
  } catch (e) {
    passwordStep(main);
    return;
  }
  const code = codeInput();
  const submit = h('button', { type: 'submit', class: 'primary wide' }, t('totp_confirm'));
  const form = h('form', { class: 'card form' },
    h('p', {}, t('totp_enroll_lead')),
    h('dl', { class: 'kv' },
      h('dt', {}, t('totp_secret')), h('dd', {}, h('code', { class: 'secret', id: 'totp-secret' }, data.secret.replace(/(.{4})(?=.)/g, '$1 '))),
      h('dt', {}, t('totp_uri')), h('dd', {}, h('code', { class: 'secret' }, data.otpauth_uri))),
    h('p', {}, h('a', { href: data.otpauth_uri, class: 'button secondary' }, t('totp_open_app'))),
    field(t('totp_code'), code).wrap, err.el, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    submit.disabled = true;
    try {
      await api.apiWithToken('POST', '/me/totp/confirm', { code: code.value.trim() }, token);
      // The code just used is spent: log in with the next one.
      totpStep(main, creds);
      const note = document.createElement('p');
      note.className = 'notice';
      note.setAttribute('role', 'status');
      note.textContent = t('totp_enrolled');
      main.querySelector('form')?.prepend(note);
    } catch (e) {
      submit.disabled = false;
      err.show(e.status === 400 || e.status === 401 ? t('totp_invalid') : errorText(e));
    }
  });
  mount(main, pageTitle(t('totp_enroll_title')), form);
  code.focus();
}
