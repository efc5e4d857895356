// Two-factor authentication pieces shared by the forced enrolment at login
// (or after an invitation) and the voluntary one in the settings: the QR
// code of the otpauth URI with the secret as text, the confirmation code,
// and the ten recovery codes shown once, with a "saved them" step.

import { h, mount, field } from '../dom.js';
import { t } from '../i18n.js';
import { qrSvg } from '../qr.js';
import { errorBox, errorText, copyText, printArea } from '../ui.js';

/** The 6-digit code input of an authenticator app. */
export function codeInput(name = 'totp') {
  return h('input', { type: 'text', name, inputmode: 'numeric', autocomplete: 'one-time-code',
    pattern: '[0-9]{6}', maxlength: '6', required: true, class: 'code' });
}

/**
 * Show `enrolment` ({secret, otpauth_uri}) in `container` and ask for a code;
 * `confirm(code)` answers {recovery_codes}. Then the codes step, then `onDone()`.
 * `onCancel` (optional) adds a cancel button.
 */
export function enrolForm(container, enrolment, { confirm, onDone, onCancel, lead }) {
  const err = errorBox();
  const code = codeInput();
  const submit = h('button', { type: 'submit', class: 'primary wide', id: 'totp-confirm' }, t('totp_confirm'));
  const uri = enrolment.otpauth_uri;
  const qrBox = h('div', { class: 'qr-box', id: 'totp-qr', dataset: { otpauthUri: uri } },
    qrSvg(uri, t('totp_qr_label')));
  const form = h('form', { class: 'card form totp-enrol', novalidate: true },
    h('p', {}, lead || t('totp_enroll_lead_voluntary')),
    h('ol', { class: 'steps-list' },
      h('li', {}, t('totp_step_app')),
      h('li', {}, t('totp_step_scan'), qrBox,
        h('p', { class: 'hint' }, t('totp_step_manual')),
        h('p', {}, h('code', { class: 'secret', id: 'totp-secret' }, enrolment.secret.replace(/(.{4})(?=.)/g, '$1 '))),
        h('p', {}, h('a', { href: uri, class: 'button secondary small' }, t('totp_open_app'))),
        h('details', { class: 'totp-uri-details' },
          h('summary', {}, t('totp_uri')),
          h('code', { class: 'secret totp-uri' }, uri))),
      h('li', {}, t('totp_step_code'))),
    field(t('totp_code'), code).wrap, err.el, submit,
    onCancel ? h('button', { type: 'button', class: 'linkish', onclick: onCancel }, t('cancel')) : null);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    const value = code.value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(value)) { err.show(t('totp_need_six')); code.focus(); return; }
    submit.disabled = true;
    try {
      const res = await confirm(value);
      recoveryCodes(container, res?.recovery_codes || [], { onDone, lead: t('recovery_lead_enrolled') });
    } catch (e) {
      submit.disabled = false;
      // `unauthorized`: the enrolment token (good for a few minutes) ran out.
      if (e.code === 'unauthorized') err.show(t('totp_enrol_expired'));
      else err.show(e.status === 400 || e.status === 401 ? t('totp_invalid') : errorText(e));
      code.select();
    }
  });
  mount(container, form);
  code.focus({ preventScroll: true });
}

/** The recovery codes, shown once: copy, print, "I have saved them", continue. */
export function recoveryCodes(container, codes, { onDone, lead }) {
  const saved = h('input', { type: 'checkbox', id: 'recovery-saved', name: 'saved' });
  const next = h('button', { type: 'submit', class: 'primary wide', id: 'recovery-continue', disabled: true }, t('recovery_continue'));
  saved.addEventListener('change', () => { next.disabled = !saved.checked; });
  const list = h('ol', { class: 'recovery-codes', id: 'recovery-codes' },
    codes.map((c) => h('li', {}, h('code', {}, c))));
  const sheet = h('div', { class: 'recovery-sheet' },
    h('h2', {}, t('recovery_title')),
    h('p', { class: 'print-only' }, t('recovery_print_note')),
    list);
  const form = h('form', { class: 'card form recovery' },
    h('p', { class: 'notice', role: 'status' }, lead || t('recovery_lead')),
    sheet,
    h('p', { class: 'hint' }, t('recovery_how')),
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'secondary small', id: 'recovery-copy',
        onclick: () => copyText(codes.join('\n')) }, t('copy')),
      h('button', { type: 'button', class: 'secondary small', id: 'recovery-print',
        onclick: () => printArea(sheet) }, t('print'))),
    h('label', { class: 'check' }, saved, t('recovery_saved')),
    next);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!saved.checked) return;
    onDone();
  });
  mount(container, form);
  const heading = sheet.querySelector('h2');
  heading.tabIndex = -1;
  heading.focus({ preventScroll: true });
  form.scrollIntoView({ block: 'start' }); // the "shown once" notice above the codes stays in view
}
