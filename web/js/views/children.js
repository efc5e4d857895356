// My children: the notebooks I am an active member of, with unread counts,
// and, for those who hold a child's consent, the requests to join waiting
// for them (live: a new one appears without a reload).

import { h, mount, icon, announce } from '../dom.js';
import { t, label, CATEGORIES } from '../i18n.js';
import { get, post, patch } from '../api.js';
import * as live from '../live.js';
import { pageTitle, loading, failure, toast, errorText, dialog, confirmDialog } from '../ui.js';
import { categoryBoxes } from './members.js';
import { categoryChip } from '../entry.js';
import * as push from '../push.js';
import * as offline from '../offline.js';
import { pendingHandoverList } from './handovers.js';
import { canRegisterChildren } from './onboard.js';

export async function childrenView(main) {
  const requests = h('div', { class: 'requests-area' });
  const list = h('div', { class: 'stack' }, loading());
  const register = canRegisterChildren()
    ? h('p', { class: 'register-child' }, h('a', { href: '#/children/new', class: 'button secondary', id: 'register-child' },
      t('onboard_open')))
    : null;
  const handovers = h('div', { class: 'handovers-area' });
  mount(main, pageTitle(t('children_title')), push.offerBox(), register, requests, handovers, list);
  let pending = [];
  let pendingHandovers = [];
  const load = async () => {
    try {
      const [children, reqs, hos] = await Promise.all([get('/children'), get('/requests'), get('/handovers')]);
      pending = reqs;
      pendingHandovers = hos;
      // Offline cards of children no longer mine go (membership ended).
      offline.keepOnly(children.map((c) => c.id)).catch(() => {});
      drawRequests();
      drawHandovers();
      if (!children.length) { mount(list, h('p', { class: 'empty children-empty' }, t('children_empty'))); return; }
      const waiting = [...pending, ...pendingHandovers];
      mount(list, h('ul', { class: 'child-list', role: 'list' }, children.map((c) => childItem(c, waiting))));
    } catch (e) {
      mount(list, failure(e, load));
    }
  };

  function drawRequests() {
    if (!pending.length) { mount(requests); return; }
    mount(requests, h('section', { class: 'card requests', id: 'requests', 'aria-labelledby': 'requests-title' },
      h('h2', { class: 'section-title', id: 'requests-title' }, t('requests_title'), ` (${pending.length})`),
      h('p', { class: 'muted' }, t('requests_hint')),
      h('ul', { class: 'request-list', role: 'list' }, pending.map(requestItem))));
  }

  // Handovers waiting for my decision (I hold the child's consent).
  function drawHandovers() {
    if (!pendingHandovers.length) { mount(handovers); return; }
    mount(handovers, h('section', { class: 'card requests handovers-pending', id: 'handovers-pending',
      'aria-labelledby': 'handovers-title' },
    h('h2', { class: 'section-title', id: 'handovers-title' }, t('handovers_pending_title'), ` (${pendingHandovers.length})`),
    h('p', { class: 'muted' }, t('handovers_pending_hint')),
    pendingHandoverList(pendingHandovers, load)));
  }

  function requestItem(r) {
    const m = r.member;
    const prof = m.profession ? label('prof', m.profession) : label('role', m.role);
    return h('li', { class: 'request', dataset: { childId: r.child_id, accountId: m.account_id } },
      h('p', { class: 'request-who' }, t('request_item', { name: m.display_name, prof, child: r.child_name })),
      m.purpose ? h('p', { class: 'member-purpose' }, `${t('member_purpose')}：${m.purpose}`) : null,
      h('div', { class: 'chips' }, m.categories.map(categoryChip)),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', class: 'primary small approve-request', onclick: () => approve(r, m.categories) }, t('approve')),
        h('button', { type: 'button', class: 'secondary small narrow-request', onclick: () => approveNarrowed(r) }, t('request_approve_narrow')),
        h('button', { type: 'button', class: 'secondary small decline-request', onclick: () => decline(r) }, t('reject'))));
  }

  const base = (r) => `/children/${r.child_id}/members/${r.member.account_id}`;

  async function approve(r, categories, canPost) {
    try {
      await post(`${base(r)}/approve`);
      const narrowed = categories.length !== r.member.categories.length
        || (canPost !== undefined && canPost !== r.member.can_post);
      if (narrowed) await patch(base(r), { categories, can_post: canPost ?? r.member.can_post });
      toast(t('request_approved'));
    } catch (e) { toast(errorText(e), 'error'); }
    await load();
  }

  async function approveNarrowed(r) {
    const boxes = categoryBoxes(r.member.categories);
    const canPost = h('input', { type: 'checkbox', checked: r.member.can_post });
    const v = await dialog({
      title: t('request_approve_title', { name: r.member.display_name }),
      content: [boxes.el, h('label', { class: 'check' }, canPost, t('member_can_post'))],
      buttons: [{ label: t('cancel'), value: 'no' }, { label: t('approve'), value: 'yes', class: 'primary', submit: true }],
    });
    if (v !== 'yes') return;
    const cats = boxes.value().filter((c) => CATEGORIES.includes(c));
    if (!cats.length) { toast(t('required_field', { field: t('member_categories') }), 'error'); return; }
    await approve(r, cats, canPost.checked);
  }

  async function decline(r) {
    if (!await confirmDialog(t('reject'), t('request_decline_confirm', { name: r.member.display_name }), t('reject'), true)) return;
    try {
      await post(`${base(r)}/revoke`);
      toast(t('request_declined'));
    } catch (e) { toast(errorText(e), 'error'); }
    await load();
  }

  mount(list, loading());
  await load();
  const off = live.on('membership_request', () => { announce(t('request_new')); load(); });
  const offHandover = live.on('handover', (f) => {
    if (f.handover?.status === 'requested') announce(t('handover_new'));
    load();
  });
  return () => { off(); offHandover(); };
}

function childItem(c, pending) {
  const unread = c.unread > 0;
  const asks = pending.filter((r) => r.child_id === c.id).length;
  return h('li', {},
    h('a', { class: 'child-card', href: `#/child/${c.id}`, dataset: { childId: c.id } },
      h('span', { class: 'child-name' }, c.name),
      h('span', { class: 'child-role' }, label('role', c.role)),
      h('span', { class: 'child-badges' },
        asks ? h('span', { class: 'badge badge-requests' }, t('requests_badge', { n: asks })) : null,
        c.closed_at ? h('span', { class: 'badge badge-closed' }, t('closed_badge')) : null,
        h('span', { class: ['badge', unread ? 'badge-unread' : 'badge-none'] },
          unread ? t('unread', { n: c.unread }) : t('no_unread'))),
      icon('chevron', 'icon chevron')));
}
