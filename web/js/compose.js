// The entry form: category (only those the member may post), kind, and the
// kind-specific fields; also used to correct an entry (revision + reason).

import { h, mount, field } from './dom.js';
import { t, label, KINDS, MEASURES, ATTENDANCE, todayTokyo } from './i18n.js';
import { errorBox, errorText } from './ui.js';
import { attachControl } from './attach.js';

/**
 * opts: {childId, categories: [..], revising: Entry|null, replyTo: Entry|null,
 * members: [Member] (who may be addressed: active, not me),
 * onSubmit({categories, kind, body, reason, to, needs_reply}) -> Promise, onCancel}
 */
export function composeForm(opts) {
  const rev = opts.revising;
  const re = rev ? null : opts.replyTo || null;
  const err = errorBox();
  // A reply is filed, as far as the author may, where its question is.
  const reCats = re ? (re.categories || [re.category]).filter((c) => opts.categories.includes(c)) : [];
  const firstCat = reCats[0] || opts.categories[0];
  const catSel = h('select', { name: 'category', required: true, disabled: Boolean(rev) },
    (rev ? [rev.category] : opts.categories).map((c) => h('option', { value: c, selected: c === firstCat }, label('cat', c))));
  // More categories (a meeting note for everyone who attended): the ones
  // the author may post in besides the first. A correction keeps its own.
  const more = rev ? null : h('fieldset', { class: 'more-categories' },
    h('legend', {}, t('more_categories')),
    h('div', { class: 'chips' }));
  let firstDraw = true;
  const drawMore = () => {
    if (!more) return;
    const checked = new Set([...more.querySelectorAll('input:checked')].map((i) => i.value));
    if (firstDraw) { for (const c of reCats.slice(1)) checked.add(c); firstDraw = false; }
    mount(more.querySelector('.chips'), opts.categories.filter((c) => c !== catSel.value).map((c) =>
      h('label', { class: 'check-chip' },
        h('input', { type: 'checkbox', name: 'more_category', value: c, checked: checked.has(c) }), ' ', label('cat', c))));
    more.hidden = opts.categories.length < 2;
  };
  // Addressees: the members who can see an entry filed under the chosen
  // categories (a member sees it when granted any of them).
  const toBox = rev ? null : h('fieldset', { class: 'addressees', id: 'compose-to' },
    h('legend', {}, t('addressees')), h('div', { class: 'chips' }),
    h('label', { class: 'check needs-reply' },
      h('input', { type: 'checkbox', name: 'needs_reply', id: 'compose-needs-reply' }), ' ', t('needs_reply')),
    h('p', { class: 'hint needs-reply-hint' }, t('needs_reply_hint')));
  const chosenCats = () => [catSel.value, ...(more ? [...more.querySelectorAll('input:checked')].map((i) => i.value) : [])];
  let firstTo = true;
  const drawTo = () => {
    if (!toBox) return;
    const checked = new Set([...toBox.querySelectorAll('input[name=to]:checked')].map((i) => i.value));
    if (firstTo && re) checked.add(re.author_id);
    firstTo = false;
    const cats = chosenCats();
    const able = (opts.members || []).filter((m) => (m.categories || []).some((c) => cats.includes(c)));
    mount(toBox.querySelector('.chips'), able.length ? able.map((m) =>
      h('label', { class: 'check-chip' },
        h('input', { type: 'checkbox', name: 'to', value: m.account_id, checked: checked.has(m.account_id) }),
        ' ', m.display_name)) : h('p', { class: 'muted' }, t('addressees_none')));
    toBox.hidden = !(opts.members || []).length;
    syncNeedsReply();
  };
  const syncNeedsReply = () => {
    if (!toBox) return;
    const any = toBox.querySelector('input[name=to]:checked');
    const nr = toBox.querySelector('input[name=needs_reply]');
    nr.disabled = !any;
    if (!any) nr.checked = false;
    toBox.querySelector('.needs-reply-hint').hidden = Boolean(any);
  };
  toBox?.addEventListener('change', syncNeedsReply);
  catSel.addEventListener('change', drawMore);
  catSel.addEventListener('change', drawTo);
  more?.addEventListener('change', drawTo);
  drawMore();
  drawTo();
  const kindSel = h('select', { name: 'kind', required: true, disabled: Boolean(rev) },
    (rev ? [rev.kind] : KINDS).map((k) => h('option', { value: k }, label('kind', k))));
  const specific = h('div', { class: 'kind-fields' });
  const reasonInput = rev ? h('textarea', { name: 'reason', rows: 2, required: true, maxlength: 2000 }) : null;
  const submit = h('button', { type: 'submit', class: 'primary' }, rev ? t('revise') : t('post'));
  let fields = {};
  const attach = attachControl(opts.childId, rev?.body?.attachments || []);

  function renderKind() {
    fields = kindFields(kindSel.value, rev?.body || {});
    mount(specific, fields.nodes);
  }
  kindSel.addEventListener('change', renderKind);
  renderKind();

  const form = h('form', { class: 'compose card form', 'aria-labelledby': 'compose-title' },
    h('h2', { id: 'compose-title' }, rev ? t('revise_title', { seq: rev.seq })
      : re ? t('reply_title', { seq: re.seq }) : t('compose_title')),
    h('div', { class: 'row' },
      field(t('category'), catSel).wrap,
      field(t('kind'), kindSel).wrap),
    more,
    toBox,
    specific,
    attach.el,
    reasonInput ? field(t('reason'), reasonInput).wrap : null,
    err.el,
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'secondary', onclick: () => opts.onCancel?.() }, t('cancel')),
      submit));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    let body;
    try { body = fields.body(); } catch (e) { err.show(e.message); return; }
    if (attach.busy()) { err.show(t('attach_wait')); return; }
    const ids = attach.ids();
    if (ids.length) body.attachments = ids;
    submit.disabled = true;
    submit.textContent = t('posting');
    try {
      const to = toBox ? [...toBox.querySelectorAll('input[name=to]:checked')].map((i) => i.value) : [];
      const needsReply = Boolean(toBox?.querySelector('input[name=needs_reply]')?.checked) && to.length > 0;
      await opts.onSubmit({
        categories: chosenCats(), kind: kindSel.value, body, reason: reasonInput?.value.trim(), to, needs_reply: needsReply,
      });
    } catch (e) {
      err.show(errorText(e));
    } finally {
      submit.disabled = false;
      submit.textContent = rev ? t('revise') : t('post');
    }
  });
  return form;
}

function text(name, opts = {}) {
  return h('input', { type: 'text', name, maxlength: 2000, ...opts });
}

function need(value, fieldLabel) {
  if (!value) throw new Error(t('required_field', { field: fieldLabel }));
  return value;
}

function opt(obj, key, value) {
  if (value !== '' && value != null) obj[key] = value;
}

/** {nodes, body()} for a kind; `init` prefills for a correction. */
function kindFields(kind, init) {
  const mainText = h('textarea', { name: 'text', rows: 5, maxlength: 20000, value: init.text || '' });
  const optionalText = kind === 'vital' || kind === 'attendance';
  if (!optionalText) mainText.required = true;
  const textField = field(optionalText ? t('text_optional') : t('text'), mainText).wrap;
  const txt = () => mainText.value.trim();
  switch (kind) {
    case 'vital': {
      const measure = h('select', { name: 'measure' },
        Object.keys(MEASURES).map((m) => h('option', { value: m, selected: init.measure === m }, label('measure', m))));
      const value = h('input', { type: 'number', name: 'value', step: 'any', required: true, inputmode: 'decimal',
        value: init.value ?? '' });
      const unit = h('input', { type: 'text', name: 'unit', required: true, maxlength: 20,
        value: init.unit || MEASURES[init.measure || 'blood_glucose'] });
      measure.addEventListener('change', () => { unit.value = MEASURES[measure.value] || ''; });
      return {
        nodes: [field(t('measure'), measure).wrap,
          h('div', { class: 'row' }, field(t('value'), value).wrap, field(t('unit'), unit).wrap), textField],
        body() {
          const v = Number.parseFloat(value.value);
          if (!Number.isFinite(v)) throw new Error(t('required_field', { field: t('value') }));
          const b = { measure: measure.value, value: v, unit: need(unit.value.trim(), t('unit')) };
          opt(b, 'text', txt());
          return b;
        },
      };
    }
    case 'attendance': {
      const date = h('input', { type: 'date', name: 'date', required: true, value: init.date || todayTokyo() });
      const status = h('select', { name: 'status' },
        ATTENDANCE.map((s) => h('option', { value: s, selected: init.status === s }, label('att', s))));
      const reason = text('reason', { value: init.reason || '' });
      return {
        nodes: [h('div', { class: 'row' }, field(t('att_date'), date).wrap, field(t('att_status'), status).wrap),
          field(t('att_reason'), reason).wrap, textField],
        body() {
          const b = { date: need(date.value, t('att_date')), status: status.value };
          opt(b, 'reason', reason.value.trim());
          opt(b, 'text', txt());
          return b;
        },
      };
    }
    case 'medication': {
      const drug = text('drug', { value: init.drug || '' });
      const dose = text('dose', { value: init.dose || '' });
      return {
        nodes: [field(t('drug'), drug).wrap, field(t('dose'), dose).wrap, textField],
        body() {
          const b = { text: need(txt(), t('text')) };
          opt(b, 'drug', drug.value.trim());
          opt(b, 'dose', dose.value.trim());
          return b;
        },
      };
    }
    case 'plan': {
      const title = text('title', { value: init.title || '' });
      const goals = h('textarea', { name: 'goals', rows: 4, value: (init.goals || []).join('\n') });
      const review = h('input', { type: 'date', name: 'review_date', value: init.review_date || '' });
      return {
        nodes: [field(t('plan_title'), title).wrap, field(t('plan_goals'), goals).wrap,
          field(t('plan_review'), review).wrap, textField],
        body() {
          const b = { text: need(txt(), t('text')) };
          opt(b, 'title', title.value.trim());
          const g = goals.value.split('\n').map((s) => s.trim()).filter(Boolean);
          if (g.length) b.goals = g;
          opt(b, 'review_date', review.value);
          return b;
        },
      };
    }
    case 'appointment': {
      const date = h('input', { type: 'date', name: 'date', required: true, value: init.date || todayTokyo() });
      const time = h('input', { type: 'time', name: 'time', value: init.time || '' });
      const place = text('place', { value: init.place || '' });
      const withWhom = text('with', { value: init.with || '' });
      const note = h('textarea', { name: 'text', rows: 3, maxlength: 20000, value: init.text || '' });
      return {
        nodes: [h('div', { class: 'row' }, field(t('appt_date'), date).wrap, field(t('appt_time'), time).wrap),
          field(t('appt_place'), place).wrap, field(t('appt_with'), withWhom).wrap, field(t('text_optional'), note).wrap],
        body() {
          const b = { date: need(date.value, t('appt_date')) };
          opt(b, 'time', time.value);
          opt(b, 'place', place.value.trim());
          opt(b, 'with', withWhom.value.trim());
          opt(b, 'text', note.value.trim());
          return b;
        },
      };
    }
    case 'handover': {
      const from = text('from', { value: init.from || '' });
      const to = text('to', { value: init.to || '' });
      return {
        nodes: [h('div', { class: 'row' }, field(t('ho_from'), from).wrap, field(t('ho_to'), to).wrap), textField],
        body() {
          const b = { text: need(txt(), t('text')) };
          opt(b, 'from', from.value.trim());
          opt(b, 'to', to.value.trim());
          return b;
        },
      };
    }
    default:
      return { nodes: [textField], body: () => ({ text: need(txt(), t('text')) }) };
  }
}
