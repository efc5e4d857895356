// 予定: a month of appointments and support plan review dates across my
// children, by date; each opens its entry in the notebook.

import { h, mount } from '../dom.js';
import { t, label, formatDate, todayTokyo } from '../i18n.js';
import { get } from '../api.js';
import { pageTitle, loading, failure } from '../ui.js';

function monthOf(ymd) {
  const [y, m] = ymd.split('-').map(Number);
  return { y, m };
}

function bounds({ y, m }) {
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const mm = String(m).padStart(2, '0');
  return [`${y}-${mm}-01`, `${y}-${mm}-${String(last).padStart(2, '0')}`];
}

function shift({ y, m }, by) {
  const n = y * 12 + (m - 1) + by;
  return { y: Math.floor(n / 12), m: (n % 12) + 1 };
}

export async function calendarView(main) {
  let month = monthOf(todayTokyo());
  const head = h('div', { class: 'calendar-nav' });
  const list = h('div', { class: 'stack' }, loading());
  mount(main, pageTitle(t('calendar_title')), h('p', { class: 'muted' }, t('calendar_lead')), head, list);
  const load = async () => {
    const [from, to] = bounds(month);
    mount(head,
      h('button', { type: 'button', class: 'secondary small', id: 'cal-prev', onclick: () => { month = shift(month, -1); load(); } },
        t('calendar_prev')),
      h('h2', { class: 'calendar-month', id: 'cal-month', dataset: { month: from.slice(0, 7) } },
        t('calendar_month', { y: month.y, m: month.m, mm: String(month.m).padStart(2, '0') })),
      h('button', { type: 'button', class: 'secondary small', id: 'cal-next', onclick: () => { month = shift(month, 1); load(); } },
        t('calendar_next')));
    mount(list, loading());
    try {
      const [items, children] = await Promise.all([get(`/calendar?from=${from}&to=${to}`), get('/children')]);
      const names = new Map(children.map((c) => [c.id, c.name]));
      mount(list, items.length
        ? h('ol', { class: 'calendar-list', role: 'list' }, items.map((i) => h('li', {
          class: ['card', 'cal-item', `cal-${i.kind}`], dataset: { kind: i.kind, date: i.date, entry: i.entry_id },
        },
        h('p', { class: 'cal-date' }, formatDate(i.date)),
        h('p', { class: 'cal-what' }, h('span', { class: 'pill' }, label('cal', i.kind)), ' ', i.title),
        h('a', { class: 'cal-child', href: `#/child/${i.child_id}/entry/${i.entry_id}` }, names.get(i.child_id) || '?'))))
        : h('p', { class: 'empty calendar-empty' }, t('calendar_empty')));
    } catch (e) {
      mount(list, failure(e, load));
    }
  };
  await load();
  return undefined;
}
