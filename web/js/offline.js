// The emergency card kept on this device for when the network is not
// there (issue 21, point 6). Only when the user opts in, per device and per
// child: a self-contained page of the card (name, summary, steps, hospital,
// notes, contacts), stored in Cache Storage under /offline/card/ID, which
// the service worker serves from the cache alone (never the network).
// Removed at logout, when the server ends the session, when the membership
// ends (a live `membership` frame, or a children list without the child),
// and when the user turns it off. A session that merely timed out keeps it:
// that is exactly when a parent in an ambulance needs it.

import { t, formatDateTime } from './i18n.js';

const CARDS = 'renraku-cards';
const PREFIX = '/offline/card/';

const hasCaches = () => typeof caches !== 'undefined';

/** The URL a saved card is served at. */
export function cardUrl(childId) {
  return `${PREFIX}${encodeURIComponent(childId)}`;
}

/** Whether this device keeps a copy of the child's card. */
export async function isSaved(childId) {
  if (!hasCaches()) return false;
  const c = await caches.open(CARDS);
  return Boolean(await c.match(cardUrl(childId)));
}

/** Every child id with a copy here. */
export async function savedIds() {
  if (!hasCaches() || !(await caches.has(CARDS))) return [];
  const c = await caches.open(CARDS);
  return (await c.keys()).map((r) => decodeURIComponent(new URL(r.url).pathname.slice(PREFIX.length)));
}

/** Stores (or refreshes) the copy of the card. */
export async function saveCard(child, card, contacts) {
  if (!hasCaches()) throw new Error('no Cache Storage');
  const html = cardPage(child, card, contacts);
  const c = await caches.open(CARDS);
  await c.put(cardUrl(child.id), new Response(html, {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // Nothing to load, nothing to run: the page is text and its own styles.
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    },
  }));
}

export async function removeCard(childId) {
  if (!hasCaches()) return;
  const c = await caches.open(CARDS);
  await c.delete(cardUrl(childId));
}

/** Removes every copy (logout). */
export async function clearCards() {
  if (hasCaches()) await caches.delete(CARDS);
}

/** Keeps only the copies of children in `ids` (the children list). */
export async function keepOnly(ids) {
  const keep = new Set(ids);
  for (const id of await savedIds()) if (!keep.has(id)) await removeCard(id);
}

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (ch) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[ch]));

/** The stored page: inline styles, nothing fetched. */
function cardPage(child, card, contacts) {
  const saved = formatDateTime(new Date().toISOString());
  const steps = card?.steps?.length
    ? `<h2>${esc(t('card_steps'))}</h2><ol>${card.steps.map((s) => `<li>${esc(s)}</li>`).join('')}</ol>` : '';
  const contactList = contacts?.length
    ? `<h2>${esc(t('contacts_title'))}</h2><ol>${contacts.map((c) => `<li>${esc(t('tier', { n: c.tier }))}: ${esc(c.display_name)}</li>`).join('')}</ol>` : '';
  return `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(t('card_title'))} — ${esc(child.name)}</title>
<style>
body { font-family: "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", sans-serif; margin: 1rem; color: #1b2430; line-height: 1.6; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.05rem; margin: 1rem 0 .25rem; border-bottom: 2px solid #b3261e; }
.offline-note { background: #fff4e5; border: 1px solid #f0c36d; border-radius: 8px; padding: .5rem .75rem; font-size: .9rem; }
.summary { font-size: 1.1rem; font-weight: 700; }
</style></head>
<body class="offline-card">
<p class="offline-note">${esc(t('offline_card_note', { date: saved }))}</p>
<h1>${esc(t('card_title'))}：${esc(child.name)}</h1>
${card ? `<h2>${esc(t('card_summary'))}</h2><p class="summary">${esc(card.summary)}</p>${steps}
${card.hospital ? `<h2>${esc(t('card_hospital'))}</h2><p>${esc(card.hospital)}</p>` : ''}
${card.notes ? `<h2>${esc(t('card_notes'))}</h2><p>${esc(card.notes)}</p>` : ''}` : `<p>${esc(t('card_none'))}</p>`}
${contactList}
</body></html>`;
}
