// A new password chosen by its user (invitation, password change): the
// rules shown next to the fields, the checks the page can make itself
// (length, the two fields equal), and the server's `weak_password` message
// shown in place under the new password.

import { h, mount, field, uid } from '../dom.js';
import { t } from '../i18n.js';

export const MIN_PASSWORD = 12;
export const MAX_PASSWORD = 256;

/** {els, input, confirm, check(), showWeak(message), clear()} */
export function newPasswordFields() {
  const rulesId = uid('pw-rules');
  const input = h('input', { type: 'password', name: 'new-password', autocomplete: 'new-password', required: true,
    minlength: String(MIN_PASSWORD), maxlength: String(MAX_PASSWORD), 'aria-describedby': rulesId });
  const confirm = h('input', { type: 'password', name: 'confirm-password', autocomplete: 'new-password', required: true });
  const weak = h('p', { class: 'form-error password-error', role: 'alert', hidden: true });
  const rules = h('div', { class: 'password-rules', id: rulesId },
    h('p', { class: 'hint' }, t('pw_rules_title')),
    h('ul', { class: 'hint' },
      h('li', {}, t('pw_rule_length', { min: MIN_PASSWORD, max: MAX_PASSWORD })),
      h('li', {}, t('pw_rule_login')),
      h('li', {}, t('pw_rule_guess'))),
    h('p', { class: 'hint' }, t('pw_rule_tip')));
  const newField = field(t('pw_new'), input);
  newField.wrap.append(weak);
  const els = [newField.wrap, rules, field(t('pw_confirm'), confirm).wrap];
  return {
    els,
    input,
    confirm,
    /** A sentence for the first rule the page itself sees broken, or null. */
    check() {
      const pw = input.value;
      if ([...pw].length < MIN_PASSWORD) return t('pw_too_short', { min: MIN_PASSWORD });
      if ([...pw].length > MAX_PASSWORD) return t('pw_too_long', { max: MAX_PASSWORD });
      if (pw !== confirm.value) return t('pw_mismatch');
      return null;
    },
    /** The server's refusal: the broken rule in the page's language, then its own words. */
    showWeak(message = '') {
      const detail = message.replace(/^\w+: /, '');
      const rule = /at least/.test(detail) ? t('pw_too_short', { min: MIN_PASSWORD })
        : /at most/.test(detail) ? t('pw_too_long', { max: MAX_PASSWORD })
          : /login/.test(detail) ? t('pw_is_login') : t('pw_weak');
      mount(weak, rule, detail ? h('span', { class: 'server-detail' }, t('pw_server_says', { message: detail })) : null);
      weak.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      input.select();
    },
    clear() {
      weak.textContent = '';
      weak.hidden = true;
      input.removeAttribute('aria-invalid');
    },
  };
}
