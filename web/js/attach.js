// Attachments: the compose form's control (take a photo on a phone, or
// choose a file; each is uploaded at once, before the entry is posted, and
// shown as a thumbnail the browser draws from the local file) and an
// entry's attachments (fetched with the session's token, shown as
// thumbnails, opened full size, downloaded). PDFs show an icon.

import { h, mount } from './dom.js';
import { t } from './i18n.js';
import { uploadFile, fetchBlob } from './api.js';
import { errorText } from './ui.js';

const ACCEPT = 'image/jpeg,image/png,image/webp,image/heic,image/heif,application/pdf';

function isImage(type) {
  return /^image\/(jpeg|png|webp)$/.test(type);
}

function pdfIcon() {
  return h('span', { class: 'attach-icon', 'aria-hidden': 'true' }, 'PDF');
}

/** A thumbnail of `blob`: the image itself (drawn by the browser) or an icon. */
function thumb(blob, type) {
  if (!isImage(type)) return type === 'application/pdf' ? pdfIcon() : h('span', { class: 'attach-icon' }, '📎');
  const url = URL.createObjectURL(blob);
  return h('img', { class: 'attach-thumb', src: url, alt: '', decoding: 'async' });
}

/**
 * The compose form's control. `init`: ids an entry being corrected already
 * references (kept unless removed). → {el, ids(), busy()}
 */
export function attachControl(childId, init = []) {
  const items = init.map((id) => ({ id, state: 'done', node: null }));
  const list = h('ul', { class: 'attach-list', 'aria-live': 'polite' });
  const camera = h('input', { type: 'file', accept: 'image/*', capture: 'environment', class: 'sr-only',
    id: 'attach-camera' });
  const picker = h('input', { type: 'file', accept: `${ACCEPT},image/*`, multiple: true, class: 'sr-only',
    id: 'attach-file' });
  const render = () => mount(list, items.map((it) => it.node || existing(it)));

  function existing(it) {
    it.node = h('li', { class: 'attach-item done', dataset: { id: it.id } },
      h('span', { class: 'attach-icon' }, '📎'),
      h('span', { class: 'attach-name' }, t('attach_existing')),
      removeBtn(it));
    return it.node;
  }

  function removeBtn(it) {
    return h('button', { type: 'button', class: 'linkish small attach-remove', 'aria-label': t('attach_remove'),
      onclick: () => { items.splice(items.indexOf(it), 1); render(); } }, t('attach_remove'));
  }

  async function add(file) {
    const it = { id: null, state: 'uploading', node: null };
    const status = h('span', { class: 'attach-status' }, t('attach_uploading'));
    it.node = h('li', { class: 'attach-item uploading' },
      thumb(file, file.type), h('span', { class: 'attach-name' }, file.name), status, removeBtn(it));
    items.push(it);
    render();
    try {
      const info = await uploadFile(`/children/${childId}/attachments`, file);
      it.id = info.id;
      it.state = 'done';
      it.node.dataset.id = info.id;
      it.node.classList.replace('uploading', 'done');
      status.textContent = t('attach_done');
    } catch (e) {
      it.state = 'failed';
      it.node.classList.replace('uploading', 'failed');
      status.textContent = e.code === 'unsupported_media_type' ? t('attach_bad_type')
        : e.code === 'payload_too_large' ? t('attach_too_large') : errorText(e);
      status.setAttribute('role', 'alert');
    }
  }

  for (const input of [camera, picker]) {
    input.addEventListener('change', () => {
      for (const f of input.files) add(f);
      input.value = '';
    });
  }
  render();
  const el = h('div', { class: 'field attach', role: 'group', 'aria-labelledby': 'attach-title' },
    h('span', { class: 'label', id: 'attach-title' }, t('attachments')),
    h('div', { class: 'attach-buttons' },
      h('label', { for: 'attach-camera', class: 'button secondary small attach-camera' }, t('attach_camera')),
      h('label', { for: 'attach-file', class: 'button secondary small attach-file' }, t('attach_file')),
      camera, picker),
    list);
  return {
    el,
    ids: () => items.filter((it) => it.state === 'done').map((it) => it.id),
    busy: () => items.some((it) => it.state === 'uploading'),
  };
}

/** An entry's attachments: thumbnails, view and download. */
export function attachmentList(entry) {
  const ids = entry.body?.attachments;
  if (!Array.isArray(ids) || !ids.length) return null;
  return h('ul', { class: 'attachments' }, ids.map((id) => attachmentItem(entry.child_id, id)));
}

// One fetch per attachment for the page's life: an entry drawn again (a
// receipt, a correction) reuses it, and the server logs one read, not one
// per redraw. A failed fetch is forgotten, so a later redraw tries again.
const fetched = new Map();

function fetchOnce(childId, id) {
  if (!fetched.has(id)) {
    const p = fetchBlob(`/children/${childId}/attachments/${id}`)
      .then((blob) => ({ url: URL.createObjectURL(blob), type: blob.type }));
    p.catch(() => fetched.delete(id));
    fetched.set(id, p);
  }
  return fetched.get(id);
}

/** At the end of a session: nothing of it stays in the page. */
export function forgetAttachments() {
  for (const p of fetched.values()) p.then(({ url }) => URL.revokeObjectURL(url)).catch(() => {});
  fetched.clear();
}

function attachmentItem(childId, id) {
  const li = h('li', { class: 'attachment', dataset: { id } }, h('span', { class: 'muted' }, t('loading')));
  fetchOnce(childId, id).then(({ url, type }) => {
    const ext = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/heic': 'heic',
      'application/pdf': 'pdf' }[type] || 'bin';
    const name = `renraku-${id.slice(-8)}.${ext}`;
    mount(li,
      h('a', { href: url, target: '_blank', rel: 'noopener', class: 'attachment-view', title: t('attach_view') },
        isImage(type) ? h('img', { class: 'attach-thumb', src: url, alt: t('attach_image') }) : pdfIcon()),
      h('a', { href: url, download: name, class: 'attachment-download small' }, t('attach_download')));
  }).catch((e) => {
    mount(li, h('span', { class: 'muted attach-error' }, e.status === 404 ? t('attach_unavailable') : errorText(e)));
  });
  return li;
}
