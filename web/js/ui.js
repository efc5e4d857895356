// Small shared pieces of UI: toasts, error text, dialogs, headings.

import { h, mount } from './dom.js';
import { t } from './i18n.js';

let toastTimer = null;

/** A short status message at the bottom of the screen (also read aloud). */
export function toast(text, kind = 'info') {
  const el = document.getElementById('toast');
  el.className = `toast show ${kind}`;
  el.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = 'toast'; el.textContent = ''; }, 4000);
}

/** A readable sentence for an API error. */
export function errorText(e) {
  switch (e?.code) {
    case 'network': return t('error_network');
    case 'forbidden': return t('error_forbidden');
    case 'not_found': return t('error_not_found');
    case 'rate_limited': return t('error_rate_limited');
    case 'payload_too_large': return t('error_too_large');
    case 'bad_request': return e.message ? `${t('error_generic')} (${e.message})` : t('error_generic');
    case 'conflict': return e.message || t('error_generic');
    default: return t('error_generic');
  }
}

/** An inline error box (role=alert) inside a form. */
export function errorBox() {
  const el = h('p', { class: 'form-error', role: 'alert', hidden: true });
  return {
    el,
    show(text) { el.textContent = text; el.hidden = false; },
    clear() { el.textContent = ''; el.hidden = true; },
  };
}

/** The page heading: focused on navigation so screen readers announce it. */
export function pageTitle(text, extra) {
  return h('h1', { class: 'page-title', tabindex: '-1', id: 'page-title' }, text, extra);
}

/**
 * A modal <dialog> with `content` and buttons; resolves with the value of the
 * button pressed (or null when cancelled with Escape / the cancel button).
 */
export function dialog({ title, content = [], buttons = [], className = '' }) {
  return new Promise((resolve) => {
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    const dlg = h('dialog', { class: ['dialog', className], 'aria-labelledby': titleId });
    const form = h('form', { method: 'dialog', class: 'dialog-form' });
    const btns = buttons.map((b) => h('button', {
      type: b.submit ? 'submit' : 'button',
      class: b.class || 'secondary',
      value: b.value,
      onclick: b.submit ? null : () => { dlg.close(); resolve(b.value ?? null); },
    }, b.label));
    mount(form, h('h2', { id: titleId }, title), content, h('div', { class: 'dialog-buttons' }, btns));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const submitter = ev.submitter;
      if (!form.reportValidity()) return;
      dlg.close();
      resolve(submitter?.value ?? true);
    });
    dlg.addEventListener('cancel', () => resolve(null));
    dlg.addEventListener('close', () => dlg.remove());
    dlg.append(form);
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** Yes/no confirmation. */
export async function confirmDialog(title, text, okLabel, danger = false) {
  const v = await dialog({
    title,
    content: [h('p', {}, text)],
    buttons: [
      { label: t('cancel'), value: 'no', class: 'secondary' },
      { label: okLabel, value: 'yes', class: danger ? 'danger' : 'primary', submit: true },
    ],
  });
  return v === 'yes';
}

/** A loading placeholder. */
export function loading() {
  return h('p', { class: 'loading', role: 'status' }, t('loading'));
}

/** A failure with a retry button. */
export function failure(e, retry) {
  return h('div', { class: 'failure', role: 'alert' },
    h('p', {}, errorText(e)),
    retry ? h('button', { type: 'button', class: 'secondary', onclick: retry }, t('retry')) : null);
}

/**
 * Print only `el` (and what is inside it): the rest of the page is hidden
 * by the print styles while the body carries `printing-area`.
 */
export function printArea(el) {
  for (const other of document.querySelectorAll('.print-area')) other.classList.remove('print-area');
  el.classList.add('print-area');
  document.body.classList.add('printing-area');
  const done = () => {
    document.body.classList.remove('printing-area');
    el.classList.remove('print-area');
    window.removeEventListener('afterprint', done);
  };
  window.addEventListener('afterprint', done);
  window.print();
}

/** Copy text to the clipboard; a toast says whether it worked. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast(t('copied'));
  } catch {
    toast(t('copy_failed'), 'error');
  }
}
