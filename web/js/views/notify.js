// 通知設定: per notebook, which entries push to me (all, addressed to me,
// none) and quiet hours. Alerts always come: the dialog says so.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get, put } from '../api.js';
import { dialog, toast, errorText } from '../ui.js';

const LEVELS = ['all', 'addressed', 'none'];

/** The button that opens the dialog for `childId`. */
export function notifyButton(childId) {
  return h('button', {
    type: 'button', class: 'secondary small', id: 'notify-open', onclick: () => openNotify(childId),
  }, t('notify_open'));
}

async function openNotify(childId) {
  let now;
  try { now = await get(`/children/${childId}/members/me/notify`); } catch (e) { toast(errorText(e)); return; }
  const radios = LEVELS.map((l) => h('label', { class: 'check' },
    h('input', { type: 'radio', name: 'level', value: l, checked: now.level === l }), ' ', t(`notify_${l}`)));
  const quiet = h('input', { type: 'checkbox', name: 'quiet', checked: Boolean(now.quiet_from) });
  const from = h('input', { type: 'time', name: 'quiet_from', value: now.quiet_from || '21:00', 'aria-label': t('notify_quiet_from') });
  const to = h('input', { type: 'time', name: 'quiet_to', value: now.quiet_to || '07:00', 'aria-label': t('notify_quiet_to') });
  const ok = await dialog({
    title: t('notify_title'),
    className: 'notify-dialog',
    content: [
      h('fieldset', { class: 'notify-levels' }, h('legend', {}, t('notify_level')), radios),
      h('label', { class: 'check' }, quiet, ' ', t('notify_quiet')),
      h('p', { class: 'row quiet-times' }, from, ' – ', to),
      h('p', { class: 'hint' }, t('notify_alerts_always')),
    ],
    buttons: [
      { label: t('cancel'), value: null },
      { label: t('save'), submit: true, class: 'primary', value: 'save' },
    ],
  });
  if (ok !== 'save') return;
  const level = radios.map((r) => r.querySelector('input')).find((i) => i.checked)?.value || 'all';
  const body = quiet.checked ? { level, quiet_from: from.value, quiet_to: to.value } : { level };
  try {
    await put(`/children/${childId}/members/me/notify`, body);
    toast(t('notify_saved'));
  } catch (e) {
    toast(errorText(e));
  }
}
