// The invitation sheet, shown once after an account is invited (or reset):
// code, link, QR of the link, expiry; print and copy. Used by アカウント管理
// and by the onboarding of a child (one sheet per guardian).

import { h } from './dom.js';
import { t, formatDateTime } from './i18n.js';
import { qrSvg } from './qr.js';
import { copyText, printArea } from './ui.js';

/**
 * opts: {orgName, onClose, ids}. With `ids` (the default) the parts carry the
 * ids the accounts screen has always had; several sheets on one page go without.
 */
export function invitationCard(acct, invitation, { orgName = '', onClose = null, ids = true } = {}) {
  const link = `${location.origin}/#/invite/${invitation.code}`;
  const id = (name) => (ids ? name : null);
  const sheet = h('div', { class: 'invitation-sheet' },
    h('h2', { tabindex: '-1' }, t('invitation_title')),
    h('p', { class: 'print-only' }, t('invitation_print_lead')),
    h('dl', { class: 'kv' },
      h('dt', {}, t('acct_display_name')), h('dd', { class: 'invite-name' }, acct.display_name),
      h('dt', {}, t('login_id')), h('dd', {}, h('code', { id: id('invite-login'), class: 'invite-login' }, acct.login)),
      orgName ? [h('dt', {}, t('acct_org')), h('dd', {}, orgName)] : null,
      h('dt', {}, t('invite_code')), h('dd', {}, h('code', { class: 'invite-code', id: id('invite-code') }, invitation.code)),
      h('dt', {}, t('invite_link')), h('dd', {}, h('a', { href: link, id: id('invite-link'), class: 'invite-link' }, link)),
      h('dt', {}, t('invite_expires')), h('dd', { id: id('invite-expires') }, formatDateTime(invitation.expires_at))),
    h('div', { class: 'qr-box', id: id('invite-qr'), dataset: { link } }, qrSvg(link, t('invite_qr_label'))),
    h('p', { class: 'hint' }, t('invitation_how')));
  return h('section', { class: 'card invitation', id: id('invitation'), dataset: { code: invitation.code, login: acct.login } },
    h('p', { class: 'notice', role: 'status' }, t('invitation_once')),
    sheet,
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'primary invite-print', id: id('invite-print'), onclick: () => printArea(sheet) },
        t('print')),
      h('button', { type: 'button', class: 'secondary invite-copy', id: id('invite-copy'), onclick: () => copyText(link) },
        t('invite_copy_link')),
      onClose ? h('button', { type: 'button', class: 'secondary', id: id('invite-close'), onclick: onClose }, t('close'))
        : null));
}
