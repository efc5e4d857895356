// Building DOM without innerHTML: every piece of text goes through
// textContent, so nothing from the server is ever parsed as markup.

/**
 * h('button', {class: 'primary', onclick: fn, 'aria-label': '…'}, 'text', child)
 * Attribute values of `false`/`null`/`undefined` are left out; `true` sets a
 * boolean attribute; keys starting with "on" add event listeners.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value') {
      el.value = v;
    } else if (k === 'checked' || k === 'selected') {
      el[k] = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace all children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A decorative icon from web/icons/ (the text next to it carries the meaning). */
export function icon(name, cls = 'icon') {
  return h('img', { src: `/icons/${name}.svg`, alt: '', class: cls, 'aria-hidden': 'true', width: 20, height: 20 });
}

let seq = 0;
/** A unique id for label/for pairs. */
export function uid(prefix = 'f') {
  seq += 1;
  return `${prefix}-${seq}`;
}

/** A labelled form field: returns {wrap, input}. */
export function field(labelText, input, hint) {
  const id = input.id || uid();
  input.id = id;
  const parts = [h('label', { for: id }, labelText)];
  if (hint) {
    const hid = `${id}-hint`;
    input.setAttribute('aria-describedby', hid);
    parts.push(h('span', { class: 'hint', id: hid }, hint));
  }
  parts.push(input);
  return { wrap: h('div', { class: 'field' }, parts), input };
}

/** Announce text to screen readers through a live region. */
export function announce(text, assertive = false) {
  const region = document.getElementById(assertive ? 'live-assertive' : 'live-polite');
  if (!region) return;
  region.textContent = '';
  // A fresh node is announced even when the text repeats.
  setTimeout(() => { region.textContent = text; }, 30);
}
