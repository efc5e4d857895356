// The access log of a child, for the family: who read or wrote what, when.

import { h, mount } from '../dom.js';
import { t, label, formatDateTime } from '../i18n.js';
import { get, account } from '../api.js';
import { getMembers } from '../store.js';
import { childHead } from './childhead.js';
import { loading, failure, errorText } from '../ui.js';

const LIMIT = 500;
const MAX_PAGES = 40;

export async function accessLogView(main, childId) {
  mount(main, loading());
  let child; let members;
  try {
    [child, members] = await Promise.all([get(`/children/${childId}`), getMembers(childId)]);
  } catch (e) { mount(main, failure(e, () => accessLogView(main, childId))); return; }
  const me = members.find((m) => m.account_id === account()?.id);
  const rows = h('tbody');
  const status = h('div', { role: 'status' }, loading());
  mount(main, childHead(child, 'log', me?.role),
    h('h2', { class: 'section-title' }, t('log_title')),
    h('p', { class: 'muted' }, t('log_lead')),
    status,
    h('div', { class: 'table-wrap' },
      h('table', { class: 'log-table' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, t('log_when')), h('th', { scope: 'col' }, t('log_who')),
          h('th', { scope: 'col' }, t('log_action')), h('th', { scope: 'col' }, t('log_detail')))),
        rows)));
  // The API pages oldest first; people want the newest first.
  const all = [];
  try {
    let after = null;
    for (let i = 0; i < MAX_PAGES; i += 1) {
      const q = after == null ? `limit=${LIMIT}` : `after=${after}&limit=${LIMIT}`;
      const list = await get(`/children/${childId}/access-log?${q}`);
      all.push(...list);
      if (list.length < LIMIT) break;
      after = list[list.length - 1].id;
    }
  } catch (e) {
    mount(status, h('p', { class: 'form-error', role: 'alert' }, errorText(e)));
    return;
  }
  mount(status, all.length ? null : h('p', { class: 'empty' }, t('log_empty')));
  // Account ids in a detail are shown as the person's name.
  const names = new Map();
  for (const m of members) names.set(m.account_id, m.display_name);
  for (const r of all) names.set(r.account_id, r.display_name);
  for (const r of all.reverse()) {
    rows.append(h('tr', { class: `action-${r.action}` },
      h('td', { class: 'nowrap', dataset: { label: t('log_when') } }, formatDateTime(r.at)),
      h('td', { dataset: { label: t('log_who') } }, r.display_name),
      h('td', { dataset: { label: t('log_action') } }, label('action', r.action)),
      h('td', { class: 'detail', dataset: { label: t('log_detail') } }, detailText(r, names))));
  }
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A record's detail in words: seq ranges, counts and routes, never raw ids. */
export function detailText(r, names) {
  const d = r.detail || '';
  const range = d.match(/(\d+)\s*[–-]\s*(\d+)/);
  const count = d.match(/^(\d+)\b/);
  switch (r.action) {
    case 'read_live':
      return range ? t('logd_live', { first: range[1], last: range[2] }) : d;
    case 'read_entries': {
      const inbox = d.match(/^inbox: (\d+)/);
      if (inbox) return t('logd_inbox', { n: inbox[1] });
      const cal = d.match(/^calendar: (\d+)/);
      if (cal) return t('logd_calendar', { n: cal[1] });
      const n = d.match(/\((\d+)/);
      return range && n
        ? t('logd_entries', { first: range[1], last: range[2], n: n[1] })
        : t('logd_entries_none');
    }
    case 'post': case 'revise': return t('logd_entry');
    case 'done': return t('logd_done');
    case 'alert':
      return d.startsWith('acknowledged') ? t('logd_alert_ack') : t('logd_alert_raised');
    case 'read_alert':
      return count ? t('logd_alert_read', { n: count[1] }) : t('logd_alert_one');
    case 'read_members': {
      const asks = d.match(/^pending requests \((\d+)\)/);
      if (asks) return t('logd_requests', { n: asks[1] });
      const hos = d.match(/^(?:pending )?handovers \((\d+)\)/);
      if (hos) return t('logd_handovers', { n: hos[1] });
      return count ? t('logd_members', { n: count[1] }) : '';
    }
    case 'transfer': return t('logd_transfer');
    case 'erase': return d.startsWith('erasure requested') ? t('logd_erase_requested') : t('logd_erased');
    case 'close': return d === 'reopened' ? t('logd_reopened') : t('logd_closed');
    case 'handover': {
      const m = d.match(/^(requested for a leaver|requested|approved|declined): (.*?) → (.*?)(?: \[[^\]]*\])?(?:, overlap (\d+) days)? \(handover/);
      if (!m) return d.replace(UUID, (id) => names.get(id.toLowerCase()) ?? t('logd_someone'));
      const step = { 'requested for a leaver': 'leaver', requested: 'requested', approved: 'approved', declined: 'declined' }[m[1]];
      return t(`logd_handover_${step}`, { from: m[2], to: m[3], n: m[4] ?? '' });
    }
    case 'read_profile': return t('logd_profile');
    case 'export': {
      const m = d.match(/^(\w+): (\d+) entries/);
      return m ? t('logd_export', { format: m[1].toUpperCase(), n: m[2] }) : d;
    }
    case 'emergency_card_read': {
      const n = d.match(/\((\d+)\)/);
      return n ? t('logd_card_versions', { n: n[1] }) : t('logd_card');
    }
    case 'read_access_log': return count ? t('logd_log_read', { n: count[1] }) : '';
    case 'denied': return t('logd_denied', { what: deniedWhat(d) });
    case 'member_change': return memberChange(d, names);
    default:
      return d.replace(UUID, (id) => names.get(id.toLowerCase()) ?? t('logd_someone'));
  }
}

/** A membership or card change in words: names for ids, labels for categories. */
function memberChange(d, names) {
  let m = d.match(/^registered the child with (\d+) guardian/);
  if (m) return t('logd_mc_registered', { n: m[1] });
  m = d.match(/^updated the emergency card \(version (\d+)\)/);
  if (m) return t('logd_mc_card', { n: m[1] });
  m = d.match(/^set (\d+) emergency contact/);
  if (m) return t('logd_mc_contacts', { n: m[1] });
  m = d.match(/^(\w+): (.*?)(?: \[([^\]]*)\])?(?: until (\S+))?$/);
  if (!m) return d.replace(UUID, (id) => names.get(id.toLowerCase()) ?? t('logd_someone'));
  const [, verb, who, cats, until] = m;
  // A family member is stored as "<kind> <id>" (their name is sealed).
  const person = who.replace(/^(?:guardian|youth|professional|admin|member) (?=[0-9a-f]{8}-)/, '')
    .replace(UUID, (id) => names.get(id.toLowerCase()) ?? t('logd_someone'));
  const parts = [`${label('logd_mc', verb)}: ${person}`];
  if (cats !== undefined) {
    parts.push(`［${cats ? cats.split(', ').map((c) => label('cat', c)).join('・') : t('logd_mc_none')}］`);
  }
  if (until) parts.push(t('logd_mc_until', { at: formatDateTime(until) }));
  return parts.join(' ');
}

/** `GET /api/v1/children/{id}/access-log` → 「アクセス記録の閲覧」. */
function deniedWhat(d) {
  if (d.startsWith('ack_alert')) return `${t('dr_ack')}${t('dm_post')}`;
  const [method = '', route = ''] = d.split(' ');
  const parts = route.split('/').filter((p) => p && !p.startsWith('{'));
  const last = parts[parts.length - 1] || '';
  if (last === 'export') return t('action_export');
  const resource = {
    children: 'dr_profile',
    'access-log': 'dr_access_log',
    members: 'dr_members',
    entries: 'dr_entries',
    revisions: 'dr_revisions',
    'emergency-card': 'dr_emergency_card',
    versions: 'dr_versions',
    contacts: 'dr_contacts',
    alerts: 'dr_alerts',
  }[last] || 'dr_other';
  const verb = `dm_${method.toLowerCase()}`;
  return `${t(resource)}${t(verb) === verb ? method : t(verb)}`;
}
