// The organization directory (関係機関).

import { h, mount, field } from '../dom.js';
import { t, label, FIELDS } from '../i18n.js';
import { get } from '../api.js';
import { pageTitle, loading, failure } from '../ui.js';

export async function orgsView(main) {
  const list = h('div', {}, loading());
  const filter = h('select', { name: 'field' },
    h('option', { value: '' }, t('orgs_all')),
    FIELDS.map((f) => h('option', { value: f }, label('field', f))));
  mount(main, pageTitle(t('orgs_title')), field(t('orgs_filter'), filter).wrap, list);
  let orgs = [];
  const draw = () => {
    const shown = orgs.filter((o) => !filter.value || o.field === filter.value);
    mount(list, h('ul', { class: 'org-list', role: 'list' }, shown.map((o) => h('li', { class: 'card org' },
      h('h2', {}, o.name),
      h('p', {}, h('span', { class: `pill field-${o.field}` }, label('field', o.field))),
      h('p', {}, o.summary),
      h('dl', { class: 'kv' },
        o.location ? [h('dt', {}, t('org_location')), h('dd', {}, o.location)] : null,
        o.strengths ? [h('dt', {}, t('org_strengths')), h('dd', {}, o.strengths)] : null,
        o.contact ? [h('dt', {}, t('org_contact')), h('dd', {}, o.contact)] : null)))));
  };
  filter.addEventListener('change', draw);
  const load = async () => {
    try { orgs = await get('/orgs'); draw(); } catch (e) { mount(list, failure(e, load)); }
  };
  await load();
}
