// The header shared by a child's screens: name, tabs (timeline, members,
// emergency card, access log for the family, export for the consent holder
// and the youth) and the emergency button.

import { h, icon } from '../dom.js';
import { t, label, formatDate } from '../i18n.js';
import { raiseAlertFlow } from '../alerts.js';

const TABS = [
  ['timeline', '', 'tab_timeline', 'book'],
  ['members', '/members', 'tab_members', 'people'],
  ['card', '/card', 'tab_card', 'card'],
  ['log', '/log', 'tab_log', 'eye'],
  ['export', '/export', 'tab_export', 'download'],
];

/** Whether a member of `role` may export `child` (as the server checks):
 * the consent holder, and the youth (before the transfer, what it sees). */
export function mayExport(child, role) {
  if (role === 'youth') return true;
  return role === 'guardian' && child.consent_holder !== 'youth';
}

/** role: my role in this child ('guardian' | 'youth' | 'member' | null). */
export function childHead(child, active, role) {
  const family = role === 'guardian' || role === 'youth';
  return h('div', { class: 'child-head' },
    h('div', { class: 'child-title' },
      h('div', {},
        h('h1', { class: 'page-title', tabindex: '-1', id: 'page-title' }, child.name),
        child.name_kana ? h('p', { class: 'kana' }, child.name_kana) : null,
        h('details', { class: 'profile' },
          h('summary', {}, t('profile')),
          h('dl', { class: 'kv compact' },
            child.diagnosis ? [h('dt', {}, t('profile_diagnosis')), h('dd', {}, child.diagnosis)] : null,
            child.birth_date ? [h('dt', {}, t('profile_birth')), h('dd', {}, formatDate(child.birth_date))] : null,
            child.disease_group ? [h('dt', {}, t('profile_group')), h('dd', {}, label('dg', child.disease_group))] : null))),
      role ? h('button', {
        type: 'button', class: 'emergency-btn', id: 'emergency-btn',
        onclick: () => raiseAlertFlow(child),
      }, icon('siren', 'icon'), t('emergency_button')) : null),
    h('nav', { class: 'tabs', 'aria-label': child.name },
      TABS.filter(([key]) => (key !== 'log' || family) && (key !== 'export' || mayExport(child, role))).map(([key, suffix, labelKey, ic]) => h('a', {
        href: `#/child/${child.id}${suffix}`,
        class: ['tab', key === active ? 'active' : null],
        'aria-current': key === active ? 'page' : null,
        dataset: { tab: key },
      }, icon(ic, 'icon icon-sm'), t(labelKey)))));
}
