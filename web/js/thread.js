// Questions and replies on an entry: who it is addressed to, its state
// (返事待ち / 回答済み), the replies shown as a thread under it, and the
// reply and done buttons.

import { h } from './dom.js';
import { t } from './i18n.js';

/** The addressees and the question's state, under the entry's meta line. */
export function questionHead(entry, ctx) {
  const to = entry.to || [];
  if (!to.length && !entry.state) return null;
  return h('p', { class: 'question-head' },
    to.length ? h('span', { class: 'to-names' }, t('to_names', { names: to.map((id) => ctx.nameOf(id)).join('、') })) : null,
    entry.state ? h('span', {
      class: ['q-state', `q-${entry.state}`], dataset: { state: entry.state },
    }, t(entry.state === 'answered' ? 'state_answered' : 'state_open')) : null);
}

/** The replies (already rendered) as a thread under their entry. */
export function threadList(entry, ctx) {
  const replies = ctx.repliesOf?.(entry) || [];
  if (!replies.length) return null;
  return h('div', { class: 'thread' },
    h('p', { class: 'thread-head' }, t('replies', { n: replies.length })),
    h('ol', { class: 'thread-list' }, replies.map((r) => ctx.renderReply(r))));
}

/** Reply, and Done for an open question (its author or an addressee). */
export function questionButtons(entry, ctx) {
  return [
    ctx.canReply?.(entry) ? h('button', {
      type: 'button', class: 'linkish small reply-btn', onclick: () => ctx.onReply(entry),
    }, t('reply')) : null,
    ctx.canDone?.(entry) ? h('button', {
      type: 'button', class: 'linkish small done-btn', onclick: () => ctx.onDone(entry),
    }, t('mark_done')) : null,
  ];
}

/** The first revision's id of an entry (following `supersedes` back). */
export function firstOf(id, entries) {
  let cur = entries.get(id);
  for (let guard = 0; cur?.supersedes && entries.has(cur.supersedes) && guard < 1000; guard += 1) {
    cur = entries.get(cur.supersedes);
  }
  return cur ? cur.id : id;
}

/** The latest revision's id of an entry. */
export function latestOf(id, supersededBy) {
  let cur = id;
  for (let guard = 0; supersededBy.has(cur) && guard < 1000; guard += 1) cur = supersededBy.get(cur).id;
  return cur;
}

/**
 * The thread a reply belongs to: the first revision's id of the entry at
 * the top of its chain of replies (null if it is not a reply, or replies to
 * an entry this member cannot see).
 */
export function threadOf(e, entries) {
  let cur = e;
  for (let guard = 0; cur.reply_to && entries.has(cur.reply_to) && guard < 1000; guard += 1) {
    cur = entries.get(cur.reply_to);
  }
  return cur === e ? null : firstOf(cur.id, entries);
}
