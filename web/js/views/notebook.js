// A child's notebook: the live timeline (newest first), the composer, read
// receipts, and what happens when access ends while the page is open.

import { h, mount, announce } from '../dom.js';
import { t, label, formatDateTime, CATEGORIES } from '../i18n.js';
import { get, post, account } from '../api.js';
import * as live from '../live.js';
import { getMembers, setMembers } from '../store.js';
import { renderEntry, updateReceipt, entryCategories } from '../entry.js';
import { threadOf, latestOf, firstOf } from '../thread.js';
import { notifyButton } from './notify.js';
import { composeForm } from '../compose.js';
import { childHead } from './childhead.js';
import { toast, loading, failure, errorText } from '../ui.js';

const PAGE = 200;

export async function notebookView(main, childId, entryId) {
  mount(main, loading());
  let child; let members;
  try {
    [child, members] = await Promise.all([get(`/children/${childId}`), getMembers(childId, true)]);
  } catch (e) {
    mount(main, accessProblem(e));
    return undefined;
  }
  const me = members.find((m) => m.account_id === account()?.id) || null;
  const nb = new Notebook(main, child, members, me);
  nb.focusEntry = entryId || null;
  return nb.start();
}

function accessProblem(e) {
  const text = e.code === 'forbidden' ? t('access_forbidden') : e.code === 'not_found' ? t('error_not_found') : errorText(e);
  return h('div', { class: 'card ended', role: 'alert' },
    h('h1', { class: 'page-title', tabindex: '-1', id: 'page-title' }, t('access_ended_title')),
    h('p', {}, text),
    h('a', { href: '#/', class: 'button secondary' }, t('back_to_children')));
}

class Notebook {
  constructor(main, child, members, me) {
    this.main = main;
    this.child = child;
    this.members = members;
    this.me = me;
    this.entries = new Map(); // id -> Entry
    this.supersededBy = new Map(); // original id -> revision Entry
    this.threads = new Map(); // thread (first revision id of its top entry) -> [reply Entry]
    this.ended = null;
    this.lastSeq = 0;
    this.readCandidate = 0;
    this.readTimer = null;
    this.offs = [];
    this.observer = new IntersectionObserver((items) => this.onVisible(items), { threshold: 0.6 });
    this.list = h('ol', { class: 'timeline', 'aria-label': t('timeline_label', { name: child.name }), reversed: true });
    this.composeArea = h('div', { class: 'compose-area' });
    this.notice = h('div', { class: 'notice-area', 'aria-live': 'polite' });
    this.status = h('div', { class: 'timeline-status' }, loading());
    this.filter = h('select', { name: 'filter', id: 'timeline-filter' });
    this.filter.addEventListener('change', () => this.applyFilter());
    this.filterBox = h('div', { class: 'field filter' }, h('label', { for: 'timeline-filter' }, t('filter_category')), this.filter);
    this.tools = h('div', { class: 'notebook-tools' }, notifyButton(child.id));
  }

  renderFilter() {
    const value = this.filter.value;
    const cats = [...new Set([...this.entries.values()].flatMap(entryCategories))];
    mount(this.filter, h('option', { value: '' }, t('filter_all')),
      CATEGORIES.filter((c) => cats.includes(c)).map((c) => h('option', { value: c, selected: c === value }, label('cat', c))));
    this.filterBox.hidden = cats.length < 2;
  }

  // Show one category only (hidden entries are not marked read).
  applyFilter() {
    const cat = this.filter.value;
    for (const li of this.list.children) {
      li.hidden = Boolean(cat) && !(li.dataset.categories || '').split(' ').includes(cat);
    }
  }

  get myCategories() {
    return this.me?.status === 'active' ? this.me.categories : [];
  }

  async start() {
    mount(this.main,
      childHead(this.child, 'timeline', this.me?.role),
      this.notice, this.tools, this.composeArea, this.filterBox, this.status, this.list);
    this.renderComposeButton();
    this.offs.push(
      live.on('entry', (e) => { if (e.child_id === this.child.id) this.onEntry(e, true); }),
      live.on('receipt', (f) => this.onReceipt(f)),
      live.on('entry_state', (f) => this.onState(f)),
      live.on('membership', (f) => this.onMembership(f)),
      live.on('ready', () => this.flushRead()));
    const onVis = () => { if (document.visibilityState === 'visible') this.flushRead(); };
    document.addEventListener('visibilitychange', onVis);
    this.offs.push(() => document.removeEventListener('visibilitychange', onVis));
    await this.loadBacklog();
    return () => this.stop();
  }

  stop() {
    for (const off of this.offs) off();
    this.observer.disconnect();
    clearTimeout(this.readTimer);
    live.unsubscribe(this.child.id);
  }

  async loadBacklog() {
    try {
      let after = 0;
      for (;;) {
        const page = await get(`/children/${this.child.id}/entries?after_seq=${after}&limit=${PAGE}`);
        for (const e of page.entries) this.onEntry(e, false);
        const maxSeen = page.entries.length ? page.entries[page.entries.length - 1].seq : after;
        if (page.entries.length < PAGE) { after = Math.max(maxSeen, page.last_seq ?? 0); break; }
        after = maxSeen;
      }
      this.lastSeq = after;
      this.renderEmpty();
      this.renderFilter();
      if (!this.ended) live.subscribe(this.child.id, after);
      if (this.focusEntry) this.showEntry(latestOf(this.focusEntry, this.supersededBy));
    } catch (e) {
      if (e.code === 'forbidden') this.endAccess('revoked');
      else mount(this.status, failure(e, () => this.loadBacklog()));
    }
  }

  renderEmpty() {
    mount(this.status, this.entries.size ? null : h('p', { class: 'empty' }, t('timeline_empty')));
  }

  ctx() {
    return {
      byId: this.entries,
      supersededBy: this.supersededBy,
      readCount: (e) => this.readCount(e),
      canRevise: (e) => !this.ended && e.author_id === account()?.id && !this.supersededBy.has(e.id)
        && this.me?.can_post && entryCategories(e).every((c) => this.myCategories.includes(c)),
      onRevise: (e) => this.openCompose(e),
      nameOf: (id) => this.members.find((m) => m.account_id === id)?.display_name || '?',
      repliesOf: (e) => (this.threads.get(firstOf(e.id, this.entries)) || [])
        .filter((r) => !this.supersededBy.has(r.id)).sort((a, b) => a.seq - b.seq),
      renderReply: (r) => renderEntry(r, this.ctx()),
      canReply: (e) => !this.ended && !this.child.closed_at && this.postableCategories().length > 0
        && !this.supersededBy.has(e.id),
      onReply: (e) => this.openCompose(null, e),
      canDone: (e) => !this.ended && !this.child.closed_at && e.state === 'open' && !this.supersededBy.has(e.id)
        && (e.author_id === account()?.id || (e.to || []).includes(account()?.id)),
      onDone: (e) => this.markDone(e),
    };
  }

  // A question's state changed (a reply by an addressee, or done).
  onState(f) {
    if (f.child_id !== this.child.id) return;
    const e = this.entries.get(f.entry_id);
    if (!e || e.state === f.state) return;
    e.state = f.state;
    this.refresh(e.id);
    if (f.state === 'answered' && e.author_id === account()?.id) announce(t('question_answered_announce'));
  }

  async markDone(e) {
    try {
      const entry = await post(`/children/${this.child.id}/entries/${e.id}/done`, {});
      this.onState({ child_id: this.child.id, entry_id: entry.id, state: entry.state });
      toast(t('marked_done'));
    } catch (err) {
      toast(errorText(err));
    }
  }

  // A link to one entry (the inbox): scrolled to and focused.
  showEntry(id) {
    const el = document.getElementById(`entry-${id}`);
    if (!el) return;
    el.setAttribute('tabindex', '-1');
    el.classList.add('fresh');
    el.scrollIntoView({ block: 'center' });
    el.focus({ preventScroll: true });
  }

  // Renders an entry again where it is shown: its thread's top entry if it is a reply.
  refresh(id) {
    const e = this.entries.get(id);
    const thread = e ? threadOf(e, this.entries) : null;
    this.rerender(thread ? latestOf(thread, this.supersededBy) : id);
  }

  onEntry(e, isLive) {
    if (this.ended) return;
    if (this.entries.has(e.id)) return;
    this.entries.set(e.id, e);
    this.lastSeq = Math.max(this.lastSeq, e.seq);
    if (e.supersedes) {
      this.supersededBy.set(e.supersedes, e);
      this.rerender(e.supersedes);
    }
    // A reply goes under its thread's top entry, not into the timeline.
    const thread = threadOf(e, this.entries);
    if (thread) {
      if (!this.threads.has(thread)) this.threads.set(thread, []);
      this.threads.get(thread).push(e);
      this.refresh(e.id);
      if (isLive) document.getElementById(`entry-${e.id}`)?.classList.add('fresh');
      return;
    }
    const li = renderEntry(e, this.ctx());
    li.hidden = Boolean(this.filter.value) && !entryCategories(e).includes(this.filter.value);
    this.insert(li, e.seq);
    this.observeAll(li);
    if (isLive) {
      this.renderFilter();
      li.classList.add('fresh');
      this.renderEmpty();
      if (e.author_id !== account()?.id) {
        announce(t('new_entry_announce', { author: e.author_name, category: label('cat', e.category) }));
      }
    }
  }

  insert(li, seq) {
    for (const other of this.list.children) {
      if (Number(other.dataset.seq) < seq) { this.list.insertBefore(li, other); return; }
    }
    this.list.append(li);
  }

  rerender(id) {
    const e = this.entries.get(id);
    const old = document.getElementById(`entry-${id}`);
    if (!e || !old) return;
    const li = renderEntry(e, this.ctx());
    li.hidden = old.hidden;
    for (const el of [old, ...old.querySelectorAll('.entry')]) this.observer.unobserve(el);
    old.replaceWith(li);
    this.observeAll(li);
  }

  // An entry and the replies in its thread are marked read as they show.
  observeAll(li) {
    for (const el of [li, ...li.querySelectorAll('.entry')]) this.observer.observe(el);
  }

  // Who may read an entry: active members other than its author whose
  // categories and history window cover it.
  readers(e) {
    return this.members.filter((m) => m.status === 'active' && m.account_id !== e.author_id
      && entryCategories(e).some((c) => m.categories.includes(c))
      && (!m.history_from || new Date(e.created_at) >= new Date(m.history_from)));
  }

  readCount(e) {
    const readers = this.readers(e);
    const read = readers.filter((m) => m.last_read_seq >= e.seq);
    const unread = readers.filter((m) => !(m.last_read_seq >= e.seq));
    return { n: read.length, m: readers.length, names: read.map((m) => m.display_name).join('、'), read, unread };
  }

  refreshReadCounts() {
    for (const el of this.list.querySelectorAll('.read-receipt')) {
      const li = el.closest('.entry');
      const e = this.entries.get(li?.dataset.id);
      if (e) updateReceipt(el, this.readCount(e));
    }
  }

  onReceipt(f) {
    if (f.child_id !== this.child.id) return;
    const m = this.members.find((x) => x.account_id === f.account_id);
    if (!m) {
      getMembers(this.child.id, true).then((list) => { this.members = list; this.refreshReadCounts(); }).catch(() => {});
      return;
    }
    m.last_read_seq = Math.max(m.last_read_seq || 0, f.seq);
    setMembers(this.child.id, this.members);
    this.refreshReadCounts();
  }

  onVisible(items) {
    for (const it of items) {
      if (!it.isIntersecting) continue;
      const seq = Number(it.target.dataset.seq);
      if (seq > this.readCandidate) this.readCandidate = seq;
    }
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.flushRead(), 300);
  }

  // Tell the server how far I have read, only while the page is visible.
  flushRead() {
    if (this.ended || !this.me || document.visibilityState !== 'visible') return;
    const seq = this.readCandidate;
    if (seq <= (this.me.last_read_seq || 0)) return;
    if (live.markRead(this.child.id, seq)) this.me.last_read_seq = seq;
  }

  onMembership(f) {
    if (f.child_id !== this.child.id) return;
    if (f.status === 'revoked' || f.status === 'expired') { this.endAccess(f.status); return; }
    if (f.status === 'active' && this.me) {
      if (f.categories) this.me.categories = f.categories;
      if ('can_post' in f) this.me.can_post = f.can_post;
      if ('history_from' in f) this.me.history_from = f.history_from;
      if ('expires_at' in f) this.me.expires_at = f.expires_at;
      this.applyNarrowing();
      mount(this.notice, h('p', { class: 'notice', role: 'status' }, t('access_narrowed')));
    }
  }

  // Drop what the new consent no longer covers.
  applyNarrowing() {
    const from = this.me.history_from ? new Date(this.me.history_from) : null;
    for (const e of [...this.entries.values()]) {
      if (!entryCategories(e).some((c) => this.me.categories.includes(c)) || (from && new Date(e.created_at) < from)) {
        this.entries.delete(e.id);
        const el = document.getElementById(`entry-${e.id}`);
        if (el) { this.observer.unobserve(el); el.remove(); }
      }
    }
    this.renderComposeButton();
    this.renderEmpty();
    this.renderFilter();
    this.applyFilter();
  }

  // Access ended: clear what was shown and stop following the notebook.
  endAccess(status) {
    if (this.ended) return;
    this.ended = status;
    live.unsubscribe(this.child.id);
    this.observer.disconnect();
    this.entries.clear();
    this.list.replaceChildren();
    mount(this.composeArea);
    mount(this.status);
    this.filterBox.remove();
    this.tools.remove();
    document.getElementById('emergency-btn')?.remove();
    this.main.querySelector('.tabs')?.remove();
    mount(this.notice, h('div', { class: 'card ended', role: 'alert', id: 'access-ended' },
      h('h2', {}, t('access_ended_title')),
      h('p', {}, status === 'expired' ? t('access_expired') : t('access_revoked')),
      h('a', { href: '#/', class: 'button secondary' }, t('back_to_children'))));
  }

  postableCategories() {
    if (!this.me?.can_post) return [];
    return this.myCategories;
  }

  renderComposeButton() {
    if (this.ended) return;
    if (this.child.closed_at) {
      mount(this.composeArea, h('p', { class: 'closed-banner', id: 'closed-banner', role: 'status' },
        t('closed_banner', { date: formatDateTime(this.child.closed_at) })));
      return;
    }
    const cats = this.postableCategories();
    if (!cats.length) {
      mount(this.composeArea, h('p', { class: 'muted' }, t('cannot_post')));
      return;
    }
    mount(this.composeArea, h('button', {
      type: 'button', class: 'primary wide', id: 'compose-open', 'aria-expanded': 'false',
      onclick: () => this.openCompose(null),
    }, t('write')));
  }

  openCompose(revising, replyTo = null) {
    const form = composeForm({
      childId: this.child.id,
      categories: this.postableCategories(),
      revising,
      replyTo,
      members: this.members.filter((m) => m.status === 'active' && m.account_id !== account()?.id),
      onCancel: () => { this.renderComposeButton(); document.getElementById('compose-open')?.focus(); },
      onSubmit: async ({ categories, kind, body, reason, to, needs_reply: needsReply }) => {
        let entry;
        if (revising) {
          entry = await post(`/children/${this.child.id}/entries/${revising.id}/revisions`,
            { body, reason, client_id: crypto.randomUUID() });
          toast(t('revised'));
        } else {
          const filed = categories.length > 1 ? { categories } : { category: categories[0] };
          const ask = { ...(to?.length ? { to } : {}), ...(needsReply ? { needs_reply: true } : {}),
            ...(replyTo ? { reply_to: replyTo.id } : {}) };
          entry = await post(`/children/${this.child.id}/entries`,
            { client_id: crypto.randomUUID(), ...filed, kind, body, ...ask });
          toast(t('posted'));
        }
        this.onEntry(entry, true);
        this.renderComposeButton();
        document.getElementById(`entry-${entry.id}`)?.scrollIntoView({ block: 'nearest' });
      },
    });
    mount(this.composeArea, form);
    if (revising || replyTo) this.composeArea.scrollIntoView({ block: 'start' });
    form.querySelector(revising ? 'textarea' : 'select')?.focus();
  }
}
