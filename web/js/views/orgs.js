// The organization directory (関係機関). An admin also adds organizations
// and edits any of their fields (PATCH /orgs/{id}).

import { h, mount, field } from '../dom.js';
import { t, label, FIELDS } from '../i18n.js';
import { get, post, patch, account } from '../api.js';
import { pageTitle, loading, failure, errorBox, errorText, toast } from '../ui.js';

const TEXTS = ['location', 'summary', 'strengths', 'contact'];

export async function orgsView(main) {
  const admin = account()?.kind === 'admin';
  const list = h('div', {}, loading());
  const filter = h('select', { name: 'field' },
    h('option', { value: '' }, t('orgs_all')),
    FIELDS.map((f) => h('option', { value: f }, label('field', f))));
  const createBox = h('div', { class: 'org-create' });
  let orgs = [];
  const draw = () => {
    const shown = orgs.filter((o) => !filter.value || o.field === filter.value);
    mount(list, h('ul', { class: 'org-list', id: 'org-list', role: 'list' }, shown.map((o) => orgItem(o))));
  };
  const orgItem = (o) => {
    const li = h('li', { class: 'card org', dataset: { orgId: o.id } });
    const show = () => mount(li,
      h('h2', { class: 'org-name' }, o.name),
      h('p', {}, h('span', { class: `pill field-${o.field}` }, label('field', o.field))),
      h('p', { class: 'org-summary' }, o.summary),
      h('dl', { class: 'kv' },
        o.location ? [h('dt', {}, t('org_location')), h('dd', {}, o.location)] : null,
        o.strengths ? [h('dt', {}, t('org_strengths')), h('dd', {}, o.strengths)] : null,
        o.contact ? [h('dt', {}, t('org_contact')), h('dd', { class: 'org-contact' }, o.contact)] : null),
      admin ? h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'secondary small org-edit',
        'aria-label': t('org_edit_named', { name: o.name }), onclick: () => edit() }, t('edit'))) : null);
    const edit = () => {
      const form = orgForm(o, async (changes) => {
        const saved = await patch(`/orgs/${o.id}`, changes);
        Object.assign(o, saved);
        toast(t('org_saved'));
        show();
        li.querySelector('.org-edit')?.focus();
      }, () => { show(); li.querySelector('.org-edit')?.focus(); });
      mount(li, form);
      form.querySelector('input')?.focus();
    };
    show();
    return li;
  };
  const drawCreate = (open = false) => {
    const details = h('details', { class: 'card org-new', open },
      h('summary', { id: 'org-new-open' }, t('org_new')),
      orgForm(null, async (body) => {
        const made = await post('/orgs', body);
        orgs.push(made);
        orgs.sort((a, b) => a.name.localeCompare(b.name, 'ja'));
        toast(t('org_created', { name: made.name }));
        drawCreate();
        draw();
      }, () => drawCreate()));
    mount(createBox, details);
  };
  filter.addEventListener('change', draw);
  if (admin) drawCreate();
  mount(main, pageTitle(t('orgs_title')), createBox, field(t('orgs_filter'), filter).wrap, list);
  const load = async () => {
    try { orgs = await get('/orgs'); draw(); } catch (e) { mount(list, failure(e, load)); }
  };
  await load();
}

/**
 * The fields of an organization: empty for a new one, filled for an edit
 * (which sends only what changed). `save(body)` may throw an API error.
 */
function orgForm(org, save, cancel) {
  const err = errorBox();
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 200, value: org?.name ?? '' });
  const fieldSel = h('select', { name: 'field' }, FIELDS.map((f) => h('option', { value: f, selected: f === org?.field },
    label('field', f))));
  const texts = Object.fromEntries(TEXTS.map((k) => [k, k === 'location' || k === 'contact'
    ? h('input', { type: 'text', name: k, value: org?.[k] ?? '' })
    : h('textarea', { name: k, rows: 2, value: org?.[k] ?? '' })]));
  const submit = h('button', { type: 'submit', class: 'primary org-save' }, org ? t('save') : t('org_create'));
  const form = h('form', { class: ['form', 'org-form', org ? 'org-edit-form' : null], novalidate: true },
    org ? h('h2', {}, t('org_edit_title', { name: org.name })) : null,
    field(t('org_name'), name).wrap,
    field(t('org_field'), fieldSel).wrap,
    field(t('org_location'), texts.location).wrap,
    field(t('org_summary'), texts.summary).wrap,
    field(t('org_strengths'), texts.strengths).wrap,
    field(t('org_contact'), texts.contact, t('org_contact_hint')).wrap,
    err.el,
    h('div', { class: 'buttons' }, submit,
      h('button', { type: 'button', class: 'secondary org-cancel', onclick: cancel }, t('cancel'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    if (!name.value.trim()) { err.show(t('required_field', { field: t('org_name') })); name.focus(); return; }
    const body = { name: name.value.trim(), field: fieldSel.value };
    for (const k of TEXTS) body[k] = texts[k].value.trim();
    const changes = org ? Object.fromEntries(Object.entries(body).filter(([k, v]) => v !== org[k])) : body;
    if (org && !Object.keys(changes).length) { cancel(); return; }
    submit.disabled = true;
    try { await save(changes); } catch (e) { err.show(errorText(e)); submit.disabled = false; }
  });
  return form;
}
