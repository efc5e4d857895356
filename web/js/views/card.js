// The emergency card (one tap from the notebook) and the emergency contacts;
// guardians and members with `medical` may edit the card.

import { h, mount, field } from '../dom.js';
import { t, formatDateTime } from '../i18n.js';
import { get, put, account } from '../api.js';
import { getMembers } from '../store.js';
import { childHead } from './childhead.js';
import { loading, failure, toast, errorBox, errorText, printArea } from '../ui.js';
import * as offline from '../offline.js';

export async function cardView(main, childId) {
  mount(main, loading());
  let child; let members; let card = null; let contacts = [];
  try {
    [child, members] = await Promise.all([get(`/children/${childId}`), getMembers(childId, true)]);
    [card, contacts] = await Promise.all([
      get(`/children/${childId}/emergency-card`).catch((e) => { if (e.code === 'not_found') return null; throw e; }),
      get(`/children/${childId}/emergency-contacts`).catch(() => []),
    ]);
  } catch (e) {
    mount(main, failure(e, () => cardView(main, childId)));
    return;
  }
  const me = members.find((m) => m.account_id === account()?.id);
  // The contacts are the consent holder's to set: the guardians, or the
  // young person after the transfer. The card: a guardian, or a member who
  // sees medical and may post (as the server checks).
  const holderRole = child.consent_holder === 'youth' ? 'youth' : 'guardian';
  const family = Boolean(me && me.status === 'active' && me.role === holderRole);
  const canEdit = me && me.status === 'active'
    && (me.role === 'guardian' || (me.categories.includes('medical') && me.can_post));
  const body = h('div', { class: 'stack' });
  mount(main, childHead(child, 'card', me?.role), body);

  function show() {
    mount(body,
      h('section', { class: 'card emergency-card', 'aria-labelledby': 'card-title' },
        h('h2', { id: 'card-title' }, t('card_title')),
        card ? [
          h('h3', {}, t('card_summary')), h('p', { class: 'card-summary' }, card.summary),
          card.steps?.length ? [h('h3', {}, t('card_steps')),
            h('ol', { class: 'steps' }, card.steps.map((s) => h('li', {}, s)))] : null,
          card.hospital ? [h('h3', {}, t('card_hospital')), h('p', {}, card.hospital)] : null,
          card.notes ? [h('h3', {}, t('card_notes')), h('p', {}, card.notes)] : null,
          card.updated_at ? h('p', { class: 'small muted' }, t('card_updated', { date: formatDateTime(card.updated_at) })) : null,
        ] : h('p', { class: 'empty' }, t('card_none')),
        h('div', { class: 'buttons card-actions' },
          canEdit ? h('button', { type: 'button', class: 'secondary', onclick: edit }, t('card_edit')) : null,
          h('button', { type: 'button', class: 'secondary small', id: 'card-print-a6', onclick: () => print('a6') }, t('card_print_a6')),
          h('button', { type: 'button', class: 'secondary small', id: 'card-print-a4', onclick: () => print('a4') }, t('card_print_a4')))),
      offlineBox(),
      h('section', { class: 'card', 'aria-labelledby': 'contacts-title' },
        h('h2', { id: 'contacts-title' }, t('contacts_title')),
        contacts.length ? h('ol', { class: 'contacts' }, contacts.map((c) => h('li', {},
          h('span', { class: 'pill pill-tier' }, t('tier', { n: c.tier })), ' ', c.display_name)))
          : h('p', { class: 'muted' }, t('contacts_none')),
        family ? h('button', { type: 'button', class: 'secondary', id: 'contacts-edit', onclick: editContacts }, t('contacts_edit')) : null));
  }

  // A print of the card alone: A6 (a card for the wallet or the bag) or A4.
  function print(kind) {
    const sheet = h('section', { class: ['card-print', `card-print-${kind}`] },
      h('h1', {}, `${t('card_title')}：${child.name}`),
      card ? [
        h('h2', {}, t('card_summary')), h('p', { class: 'card-summary' }, card.summary),
        card.steps?.length ? [h('h2', {}, t('card_steps')), h('ol', {}, card.steps.map((s) => h('li', {}, s)))] : null,
        card.hospital ? [h('h2', {}, t('card_hospital')), h('p', {}, card.hospital)] : null,
        card.notes ? [h('h2', {}, t('card_notes')), h('p', {}, card.notes)] : null,
      ] : h('p', {}, t('card_none')),
      contacts.length ? [h('h2', {}, t('contacts_title')),
        h('ol', {}, contacts.map((c) => h('li', {}, `${t('tier', { n: c.tier })}: ${c.display_name}`)))] : null,
      h('p', { class: 'small' }, t('card_printed', { date: formatDateTime(new Date().toISOString()) })));
    body.append(sheet);
    // The sheet's page size, for this print only: a rule added to the app's
    // own style sheet (the page's CSP allows no inline style).
    const css = [...document.styleSheets].find((x) => x.href?.endsWith('/css/app.css'));
    const rule = css ? css.insertRule(kind === 'a6' ? '@page { size: 105mm 148mm; margin: 6mm; }'
      : '@page { size: A4; margin: 15mm; }', css.cssRules.length) : -1;
    const gone = () => {
      sheet.remove();
      if (css && rule >= 0 && css.cssRules[rule]?.type === CSSRule.PAGE_RULE) css.deleteRule(rule);
      window.removeEventListener('afterprint', gone);
    };
    window.addEventListener('afterprint', gone);
    printArea(sheet);
  }

  // Opt-in, per device: a copy of the card the service worker serves offline.
  function offlineBox() {
    const box = h('section', { class: 'card offline-card-box', id: 'offline-card' });
    const draw = async () => {
      const saved = await offline.isSaved(childId).catch(() => false);
      if (saved) offline.saveCard(child, card, contacts).catch(() => {}); // keep it current
      const toggle = h('input', { type: 'checkbox', id: 'offline-card-toggle', checked: saved });
      toggle.addEventListener('change', async () => {
        try {
          if (toggle.checked) {
            await offline.saveCard(child, card, contacts);
            toast(t('offline_card_saved'));
          } else {
            await offline.removeCard(childId);
            toast(t('offline_card_removed'));
          }
        } catch (e) { toast(errorText(e), 'error'); }
        await draw();
      });
      mount(box,
        h('h2', {}, t('offline_card_title')),
        h('label', { class: 'check' }, toggle, ' ', t('offline_card_toggle')),
        h('p', { class: 'muted small' }, t('offline_card_lead')),
        saved ? h('p', {}, h('a', { href: offline.cardUrl(childId), target: '_blank', id: 'offline-card-link' },
          t('offline_card_open'))) : null);
    };
    if (typeof caches === 'undefined') return null;
    draw();
    return box;
  }

  // Guardians choose which active members are contacts, and in which tier.
  function editContacts() {
    const err = errorBox();
    const active = members.filter((m) => m.status === 'active');
    const current = new Map(contacts.map((c) => [c.account_id, c.tier]));
    const selects = active.map((m) => {
      const sel = h('select', { name: `tier-${m.account_id}`, dataset: { accountId: m.account_id } },
        h('option', { value: '' }, t('contacts_not')),
        [1, 2, 3, 4, 5].map((n) => h('option', { value: n, selected: current.get(m.account_id) === n }, t('tier', { n }))));
      return { m, sel };
    });
    const form = h('form', { class: 'card form contacts-form' },
      h('h2', {}, t('contacts_edit')),
      h('p', { class: 'muted' }, t('contacts_lead')),
      selects.map(({ m, sel }) => field(m.display_name, sel).wrap),
      err.el,
      h('div', { class: 'buttons' },
        h('button', { type: 'button', class: 'secondary', onclick: show }, t('cancel')),
        h('button', { type: 'submit', class: 'primary' }, t('save'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const list = selects.filter(({ sel }) => sel.value)
        .map(({ m, sel }) => ({ account_id: m.account_id, tier: Number(sel.value) }))
        .sort((a, b) => a.tier - b.tier);
      try {
        await put(`/children/${childId}/emergency-contacts`, list);
        contacts = await get(`/children/${childId}/emergency-contacts`);
        toast(t('contacts_saved'));
        show();
      } catch (e) { err.show(errorText(e)); }
    });
    mount(body, form);
    form.querySelector('select')?.focus();
  }

  function edit() {
    const err = errorBox();
    const summary = h('textarea', { rows: 3, required: true, value: card?.summary || '' });
    const steps = h('textarea', { rows: 6, value: (card?.steps || []).join('\n') });
    const hospital = h('input', { type: 'text', value: card?.hospital || '' });
    const notes = h('textarea', { rows: 3, value: card?.notes || '' });
    const form = h('form', { class: 'card form' },
      h('h2', {}, t('card_edit')),
      field(t('card_summary'), summary).wrap,
      field(t('card_steps'), steps, t('card_steps_hint')).wrap,
      field(t('card_hospital'), hospital).wrap,
      field(t('card_notes'), notes).wrap,
      err.el,
      h('div', { class: 'buttons' },
        h('button', { type: 'button', class: 'secondary', onclick: show }, t('cancel')),
        h('button', { type: 'submit', class: 'primary' }, t('save'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await put(`/children/${childId}/emergency-card`, {
          summary: summary.value.trim(),
          steps: steps.value.split('\n').map((s) => s.trim()).filter(Boolean),
          hospital: hospital.value.trim(),
          notes: notes.value.trim(),
        });
        card = await get(`/children/${childId}/emergency-card`);
        toast(t('card_saved'));
        show();
      } catch (e) { err.show(errorText(e)); }
    });
    mount(body, form);
    summary.focus();
  }
  show();
}
