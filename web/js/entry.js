// Rendering one notebook entry: category colour and icon, kind-specific body,
// corrections (revisions) with their reason, and the read count.

import { h, icon } from './dom.js';
import { t, label, formatDateTime, formatDate } from './i18n.js';
import { get } from './api.js';
import { attachmentList } from './attach.js';
import { questionHead, threadList, questionButtons } from './thread.js';

/** Every category an entry is filed under (older servers: its one). */
export function entryCategories(entry) {
  return entry.categories?.length ? entry.categories : [entry.category];
}

export function categoryChip(cat) {
  return h('span', { class: `chip cat-${cat}` }, icon(`cat-${cat}`, 'icon chip-icon'), label('cat', cat));
}

function numberText(v) {
  if (typeof v !== 'number') return String(v ?? '');
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
}

function paragraphs(text) {
  if (!text) return null;
  return h('div', { class: 'entry-text' }, String(text).split(/\n+/).map((p) => h('p', {}, p)));
}

/** The kind-specific body (also used for the original inside a correction). */
export function renderBody(entry) {
  const b = entry.body || {};
  switch (entry.kind) {
    case 'vital':
      return h('div', { class: 'entry-body' },
        h('p', { class: 'vital' },
          h('span', { class: 'vital-measure' }, label('measure', b.measure)),
          h('span', { class: 'vital-value' }, numberText(b.value)),
          h('span', { class: 'vital-unit' }, b.unit || '')),
        paragraphs(b.text));
    case 'attendance':
      return h('div', { class: 'entry-body' },
        h('p', { class: 'attendance' },
          h('span', { class: `att att-${b.status}` }, label('att', b.status)),
          h('span', { class: 'att-date' }, formatDate(b.date))),
        b.reason ? h('p', { class: 'att-reason' }, b.reason) : null,
        paragraphs(b.text));
    case 'medication':
      return h('div', { class: 'entry-body' },
        (b.drug || b.dose) ? h('dl', { class: 'kv med' },
          b.drug ? [h('dt', {}, t('drug').replace(/（任意）| \(optional\)/, '')), h('dd', {}, b.drug)] : null,
          b.dose ? [h('dt', {}, t('dose').replace(/（任意）| \(optional\)/, '')), h('dd', {}, b.dose)] : null) : null,
        paragraphs(b.text));
    case 'plan':
      return h('div', { class: 'entry-body plan' },
        b.title ? h('h3', { class: 'plan-title' }, b.title) : null,
        Array.isArray(b.goals) && b.goals.length ? h('div', { class: 'plan-goals' },
          h('p', { class: 'subhead' }, t('goals')),
          h('ol', {}, b.goals.map((g) => h('li', {}, g)))) : null,
        b.review_date ? h('p', { class: 'plan-review' }, `${t('review_date')}: ${formatDate(b.review_date)}`) : null,
        paragraphs(b.text));
    case 'appointment':
      return h('div', { class: 'entry-body appointment' },
        h('p', { class: 'appt-when' }, formatDate(b.date), b.time ? ` ${b.time}` : ''),
        (b.with || b.place) ? h('p', { class: 'appt-where' }, [b.with, b.place].filter(Boolean).join('・')) : null,
        paragraphs(b.text));
    case 'handover':
      return h('div', { class: 'entry-body handover' },
        (b.from || b.to) ? h('p', { class: 'handover-route' },
          t('handover_from_to', { from: b.from || '—', to: b.to || '—' })) : null,
        paragraphs(b.text));
    default:
      return h('div', { class: 'entry-body' }, paragraphs(b.text));
  }
}

/**
 * ctx: {byId: Map, supersededBy: Map(original id -> revision), readCount(entry)
 * -> {n, m, names, read: [Member], unread: [Member]}, canRevise(entry) -> bool, onRevise(entry)}
 */
export function renderEntry(entry, ctx) {
  const corrected = ctx.supersededBy.get(entry.id);
  const original = entry.supersedes ? ctx.byId.get(entry.supersedes) : null;
  const headingId = `entry-${entry.id}-h`;
  const rc = ctx.readCount(entry);
  const li = h('li', {
    class: ['entry', `cat-border-${entry.category}`, corrected ? 'superseded' : null, entry.supersedes ? 'revision' : null],
    id: `entry-${entry.id}`,
    dataset: { seq: entry.seq, id: entry.id, category: entry.category, categories: entryCategories(entry).join(' '), kind: entry.kind },
    'aria-labelledby': headingId,
  },
  h('div', { class: 'entry-head' },
    entryCategories(entry).map(categoryChip),
    h('span', { class: 'kind' }, label('kind', entry.kind)),
    h('span', { class: 'seqno' }, t('seq', { seq: entry.seq }))),
  h('p', { class: 'entry-meta', id: headingId },
    h('span', { class: 'author' }, entry.author_name),
    h('time', { datetime: entry.created_at }, formatDateTime(entry.created_at))),
  questionHead(entry, ctx),
  entry.supersedes ? h('div', { class: 'correction-note' },
    h('p', { class: 'correction-label' }, icon('pencil', 'icon icon-sm'),
      t('revision_label', { n: entry.revision }),
      original ? ` · ${t('revision_of', { seq: original.seq })}` : ''),
    entry.reason ? h('p', { class: 'correction-reason' }, t('revision_reason', { reason: entry.reason })) : null) : null,
  corrected ? h('p', { class: 'superseded-note' },
    h('a', { href: `#entry-${corrected.id}`, class: 'superseded-link', onclick: (ev) => jumpTo(ev, corrected.id) },
      t('superseded', { seq: corrected.seq }))) : null,
  renderBody(entry),
  attachmentList(entry),
  original ? h('details', { class: 'original' },
    h('summary', {}, t('show_original')),
    renderBody(original)) : null,
  h('div', { class: 'entry-foot' },
    readReceipt(entry, rc, ctx),
    questionButtons(entry, ctx),
    ctx.canRevise(entry) ? h('button', { type: 'button', class: 'linkish small revise-btn', onclick: () => ctx.onRevise(entry) },
      t('revise')) : null),
  corrected ? null : threadList(entry, ctx));
  return li;
}

// The read count opens a small panel of who has read the entry and who has
// not (by tap, click or keyboard; a second tap, Escape or a tap elsewhere
// closes it). Names come at once from the members' read positions; the
// times follow from the server (GET …/entries/{id}/readers) when it answers.
let openReceipt = null;

function readReceipt(entry, rc, ctx) {
  const panel = h('div', { class: 'readers-panel', id: `readers-${entry.id}`, hidden: true });
  const btn = h('button', {
    type: 'button', class: 'read-count', dataset: { seq: entry.seq }, 'aria-expanded': 'false',
    'aria-controls': panel.id, title: rc.names ? t('read_by', { names: rc.names }) : null,
  }, t('read_count', { n: rc.n, m: rc.m }));
  const wrap = h('span', { class: 'read-receipt' }, btn, panel);
  wrap.readCount = () => ctx.readCount(entry);
  wrap.entry = entry;
  btn.addEventListener('click', () => (openReceipt === wrap ? closeReceipt() : openReceiptOf(wrap)));
  return wrap;
}

// The readers' times, fetched each time the panel opens (they change as people read).
async function loadTimes(wrap) {
  const e = wrap.entry;
  try {
    const list = await get(`/children/${e.child_id}/entries/${e.id}/readers`);
    wrap.readTimes = new Map(list.map((r) => [r.account_id, r.read_at]));
    if (openReceipt === wrap) fillReaders(wrap, wrap.readCount());
  } catch { /* names without times */ }
}

function fillReaders(wrap, rc) {
  const panel = wrap.querySelector('.readers-panel');
  const times = wrap.readTimes;
  const when = (m) => {
    const at = times?.get(m.account_id);
    return at ? h('time', { class: 'read-at', datetime: at }, formatDateTime(at)) : null;
  };
  const names = (list, cls, withTime) => h('ul', { class: ['readers', cls], role: 'list' },
    list.length ? list.map((m) => h('li', {}, m.display_name, withTime ? when(m) : null))
      : h('li', { class: 'muted' }, t('readers_none')));
  // Positions moved before read times were kept have none.
  const unknown = times && rc.read.some((m) => !times.get(m.account_id));
  panel.replaceChildren(...[
    h('p', { class: 'readers-head' }, t('readers_read', { n: rc.read.length })), names(rc.read, 'readers-read', true),
    h('p', { class: 'readers-head' }, t('readers_unread', { n: rc.unread.length })), names(rc.unread, 'readers-unread', false),
    unknown ? h('p', { class: 'hint' }, t('readers_no_times')) : null,
  ].filter(Boolean));
}

function openReceiptOf(wrap) {
  closeReceipt();
  openReceipt = wrap;
  fillReaders(wrap, wrap.readCount());
  loadTimes(wrap);
  wrap.querySelector('.readers-panel').hidden = false;
  wrap.querySelector('.read-count').setAttribute('aria-expanded', 'true');
  document.addEventListener('keydown', onReceiptKey);
  document.addEventListener('click', onOutside, true);
}

function closeReceipt(focus = false) {
  const wrap = openReceipt;
  if (!wrap) return;
  openReceipt = null;
  wrap.querySelector('.readers-panel').hidden = true;
  const btn = wrap.querySelector('.read-count');
  btn.setAttribute('aria-expanded', 'false');
  if (focus) btn.focus();
  document.removeEventListener('keydown', onReceiptKey);
  document.removeEventListener('click', onOutside, true);
}

function onReceiptKey(ev) { if (ev.key === 'Escape') { ev.preventDefault(); closeReceipt(true); } }
function onOutside(ev) { if (openReceipt && !openReceipt.contains(ev.target)) closeReceipt(); }

/** A receipt arrived: the count, its title, and the open panel follow. */
export function updateReceipt(wrap, rc) {
  const btn = wrap.querySelector('.read-count');
  btn.textContent = t('read_count', { n: rc.n, m: rc.m });
  if (rc.names) btn.title = t('read_by', { names: rc.names }); else btn.removeAttribute('title');
  if (openReceipt === wrap) fillReaders(wrap, rc);
}

function jumpTo(ev, id) {
  ev.preventDefault();
  const el = document.getElementById(`entry-${id}`);
  if (el) { el.scrollIntoView({ block: 'center' }); el.setAttribute('tabindex', '-1'); el.focus({ preventScroll: true }); }
}
