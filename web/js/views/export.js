// Export of a notebook (エクスポート), for the consent holder and the youth:
// an encrypted age file (to a passphrase or a recipient's age1… key), a
// printable HTML document, or a FHIR R4 Bundle, downloaded as a file.

import { h, mount, field } from '../dom.js';
import { t } from '../i18n.js';
import { get, account, postForFile } from '../api.js';
import { getMembers } from '../store.js';
import { childHead, mayExport } from './childhead.js';
import { loading, failure, toast, errorBox, errorText } from '../ui.js';

const FORMATS = ['age', 'html', 'fhir'];

export async function exportView(main, childId) {
  mount(main, loading());
  let child; let members;
  try {
    [child, members] = await Promise.all([get(`/children/${childId}`), getMembers(childId)]);
  } catch (e) { mount(main, failure(e, () => exportView(main, childId))); return; }
  const me = members.find((m) => m.account_id === account()?.id);
  const role = me?.status === 'active' ? me.role : null;
  if (!mayExport(child, role)) {
    mount(main, childHead(child, 'export', me?.role),
      h('p', { class: 'notice', role: 'status' }, t('export_not_allowed')));
    return;
  }
  const err = errorBox();
  const formatBox = h('fieldset', { class: 'checks' }, h('legend', {}, t('export_format')),
    FORMATS.map((f) => h('label', { class: 'check export-format' },
      h('input', { type: 'radio', name: 'format', value: f, checked: f === 'age' }),
      h('span', {}, t(`export_fmt_${f}`)))));
  const byBox = h('fieldset', { class: 'checks', id: 'export-protect' }, h('legend', {}, t('export_protect')),
    ['passphrase', 'recipient'].map((b) => h('label', { class: 'check' },
      h('input', { type: 'radio', name: 'by', value: b, checked: b === 'passphrase' }),
      h('span', {}, t(`export_by_${b}`)))));
  const pass = field(t('export_passphrase'),
    h('input', { type: 'password', name: 'passphrase', autocomplete: 'new-password', minlength: '1', maxlength: '1024' }),
    t('export_passphrase_hint'));
  const recipient = field(t('export_recipient'),
    h('input', { type: 'text', name: 'recipient', autocomplete: 'off', spellcheck: 'false', placeholder: 'age1…' }),
    t('export_recipient_hint'));
  const plainNote = h('p', { class: 'notice', id: 'export-plain-note' }, t('export_plain_warning'));
  const submit = h('button', { type: 'submit', id: 'export-submit' }, t('export_button'));
  const form = h('form', { class: 'card stack export-form', id: 'export-form', novalidate: true },
    formatBox, byBox, pass.wrap, recipient.wrap, plainNote, err.el, submit);

  const value = (name) => form.querySelector(`input[name=${name}]:checked`)?.value;
  function sync() {
    const age = value('format') === 'age';
    byBox.hidden = !age;
    plainNote.hidden = age;
    pass.wrap.hidden = !age || value('by') !== 'passphrase';
    recipient.wrap.hidden = !age || value('by') !== 'recipient';
  }
  form.addEventListener('change', sync);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    const format = value('format');
    const body = { format };
    if (format === 'age') {
      if (value('by') === 'passphrase') {
        if (!pass.input.value) { err.show(t('export_need_passphrase')); pass.input.focus(); return; }
        body.passphrase = pass.input.value;
      } else {
        const r = recipient.input.value.trim();
        if (!/^age1[0-9a-z]+$/.test(r)) { err.show(t('export_need_recipient')); recipient.input.focus(); return; }
        body.recipient = r;
      }
    }
    submit.disabled = true;
    submit.textContent = t('export_working');
    try {
      const { blob, name } = await postForFile(`/children/${childId}/export`, body);
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      pass.input.value = '';
      toast(t('export_done'));
    } catch (e) {
      err.show(errorText(e));
    } finally {
      submit.disabled = false;
      submit.textContent = t('export_button');
    }
  });
  sync();
  mount(main, childHead(child, 'export', me?.role),
    h('h2', { class: 'section-title' }, t('export_title')),
    h('p', { class: 'muted' }, t('export_lead')),
    role === 'youth' && child.consent_holder !== 'youth'
      ? h('p', { class: 'notice', id: 'export-youth-note' }, t('export_youth_note')) : null,
    form);
}
