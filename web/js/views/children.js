// My children: the notebooks I am an active member of, with unread counts.

import { h, mount, icon } from '../dom.js';
import { t, label } from '../i18n.js';
import { get } from '../api.js';
import { pageTitle, loading, failure } from '../ui.js';
import * as push from '../push.js';

export async function childrenView(main) {
  const list = h('div', { class: 'stack' }, loading());
  mount(main, pageTitle(t('children_title')), push.offerBox(), list);
  const load = async () => {
    mount(list, loading());
    try {
      const children = await get('/children');
      if (!children.length) { mount(list, h('p', { class: 'empty children-empty' }, t('children_empty'))); return; }
      mount(list, h('ul', { class: 'child-list', role: 'list' }, children.map(childItem)));
    } catch (e) {
      mount(list, failure(e, load));
    }
  };
  await load();
}

function childItem(c) {
  const unread = c.unread > 0;
  return h('li', {},
    h('a', { class: 'child-card', href: `#/child/${c.id}`, dataset: { childId: c.id } },
      h('span', { class: 'child-name' }, c.name),
      h('span', { class: 'child-role' }, label('role', c.role)),
      h('span', { class: ['badge', unread ? 'badge-unread' : 'badge-none'] },
        unread ? t('unread', { n: c.unread }) : t('no_unread')),
      icon('chevron', 'icon chevron')));
}
