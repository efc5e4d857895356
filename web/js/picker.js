// Choosing one professional from the directory: a search field, its
// results with a choose button each, and the choice said aloud. Used to add
// or ask for a member and to pick a handover's successor.

import { h, mount, field } from './dom.js';
import { t, label } from './i18n.js';
import { get } from './api.js';
import { errorText } from './ui.js';

/**
 * `name`: the search input's name; `labelText`: its label; `err`: an
 * errorBox for failed searches; `kind`: a class suffix for the buttons
 * (`search-<kind>`, `choose-<kind>`). Returns {el, chosen()}.
 */
export function accountPicker({ name, labelText, err, kind }) {
  const query = h('input', { type: 'search', name, autocomplete: 'off' });
  const results = h('ul', { class: 'search-results', role: 'list' });
  const chosenText = h('p', { class: 'chosen', 'aria-live': 'polite' });
  let chosen = null;
  const search = async () => {
    const q = query.value.trim();
    if (!q) return;
    try {
      const found = await get(`/accounts?query=${encodeURIComponent(q)}`);
      mount(results, found.length ? found.map((a) => h('li', {},
        h('span', {}, `${a.display_name}（${label('prof', a.profession)}）`),
        h('button', { type: 'button', class: `secondary small choose-${kind}`, onclick: () => {
          chosen = a; chosenText.textContent = t('chosen', { name: a.display_name });
        } }, t('choose')))) : h('li', { class: 'muted' }, t('search_none')));
    } catch (e) { err.show(errorText(e)); }
  };
  // Enter searches (and never submits the form around it).
  query.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); search(); } });
  const el = h('div', { class: 'account-picker' },
    h('div', { class: 'row search-row' }, field(labelText, query).wrap,
      h('button', { type: 'button', class: `secondary search-${kind}`, onclick: search }, t('search'))),
    results, chosenText);
  return { el, chosen: () => chosen };
}
