// Settings (設定): my account, password change, my sessions (end one, end
// the others, log out everywhere), two-factor authentication (enrol,
// new recovery codes, remove) and the language.

import { h, mount, field } from '../dom.js';
import { t, label, lang, setLang, LANGS, formatDateTime } from '../i18n.js';
import * as api from '../api.js';
import { get, post, del } from '../api.js';
import * as live from '../live.js';
import { pageTitle, loading, failure, errorBox, errorText, toast, confirmDialog } from '../ui.js';
import { newPasswordFields } from './password.js';
import { enrolForm, recoveryCodes, codeInput } from './totp.js';

export async function settingsView(main) {
  const sessionsBox = h('div', {}, loading());
  const totpBox = h('div', {}, loading());
  const reloadSessions = () => loadSessions(sessionsBox);
  mount(main,
    pageTitle(t('settings_title')),
    accountCard(),
    section('settings-password', t('pw_change_title'), passwordForm(reloadSessions)),
    section('settings-sessions', t('sessions_title'), h('p', { class: 'hint' }, t('sessions_lead')), sessionsBox),
    section('settings-totp', t('totp_section_title'), totpBox),
    section('settings-lang', t('lang_title'), langChoice()));
  await Promise.all([reloadSessions(), loadTotp(totpBox)]);
}

function section(id, title, ...content) {
  return h('section', { class: 'card settings-section', id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title), content);
}

function accountCard() {
  const a = api.account() || {};
  return h('section', { class: 'card settings-account', 'aria-label': t('settings_account') },
    h('dl', { class: 'kv' },
      h('dt', {}, t('acct_display_name')), h('dd', {}, a.display_name || ''),
      h('dt', {}, t('login_id')), h('dd', {}, h('code', {}, a.login || '')),
      h('dt', {}, t('acct_kind')), h('dd', {}, a.profession ? label('prof', a.profession) : label('acctkind', a.kind))));
}

function passwordForm(onChanged) {
  const err = errorBox();
  const current = h('input', { type: 'password', name: 'current-password', autocomplete: 'current-password', required: true });
  const pw = newPasswordFields();
  const submit = h('button', { type: 'submit', class: 'primary', id: 'password-submit' }, t('pw_change_submit'));
  const form = h('form', { class: 'form', id: 'password-form', novalidate: true },
    // Lets password managers file the new password under the right login.
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: api.account()?.login || '',
      hidden: true, readonly: true, 'aria-hidden': 'true', tabindex: '-1' }),
    field(t('pw_current'), current).wrap, pw.els, err.el, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    pw.clear();
    if (!current.value) { err.show(t('required_field', { field: t('pw_current') })); current.focus(); return; }
    const problem = pw.check();
    if (problem) { err.show(problem); pw.input.focus(); return; }
    submit.disabled = true;
    try {
      await post('/me/password', { current_password: current.value, new_password: pw.input.value });
      form.reset();
      toast(t('pw_changed'));
      err.clear();
      const done = form.querySelector('.pw-done') || h('p', { class: 'notice pw-done', role: 'status' });
      done.textContent = t('pw_changed');
      form.prepend(done);
      await onChanged();
    } catch (e) {
      if (e.code === 'weak_password') pw.showWeak(e.message);
      else if (e.code === 'invalid_credentials') { err.show(t('pw_current_wrong')); current.select(); }
      else err.show(errorText(e));
    } finally { submit.disabled = false; }
  });
  return form;
}

/** "Chrome（Android）" from a User-Agent header, or null. */
export function shortAgent(ua) {
  if (!ua) return null;
  const browser = [[/Edg(e|A|iOS)?\//, 'Edge'], [/OPR\/|Opera/, 'Opera'], [/SamsungBrowser/, 'Samsung Internet'],
    [/Firefox\/|FxiOS/, 'Firefox'], [/HeadlessChrome/, 'Chrome (headless)'], [/Chrome\/|CriOS/, 'Chrome'],
    [/Version\/[\d.]+.*Safari\//, 'Safari'], [/curl\//, 'curl']].find(([re]) => re.test(ua))?.[1];
  const os = [[/iPhone/, 'iPhone'], [/iPad/, 'iPad'], [/Android/, 'Android'], [/Windows/, 'Windows'],
    [/CrOS/, 'ChromeOS'], [/Mac OS X|Macintosh/, 'Mac'], [/Linux/, 'Linux']].find(([re]) => re.test(ua))?.[1];
  if (browser && os) return t('agent_on', { browser, os });
  return browser || os || ua.slice(0, 40);
}

async function loadSessions(box) {
  let list;
  try { list = await get('/me/sessions'); } catch (e) { mount(box, failure(e, () => loadSessions(box))); return; }
  const others = list.filter((x) => !x.current);
  const endOne = async (x) => {
    if (!await confirmDialog(t('session_end'), t('session_end_confirm', { device: shortAgent(x.user_agent) || t('agent_unknown') }),
      t('session_end'), true)) return;
    try { await del(`/me/sessions/${x.id}`); toast(t('session_ended_ok')); } catch (e) {
      if (e.code !== 'not_found') toast(errorText(e), 'error');
    }
    await loadSessions(box);
  };
  const endOthers = async () => {
    if (!await confirmDialog(t('sessions_end_others'), t('sessions_end_others_confirm', { n: others.length }),
      t('sessions_end_others'), true)) return;
    // One DELETE each: a session that ended meanwhile (404) is no failure.
    const results = await Promise.allSettled(others.map((x) => del(`/me/sessions/${x.id}`)));
    const failed = results.filter((r) => r.status === 'rejected' && r.reason?.code !== 'not_found');
    toast(failed.length ? errorText(failed[0].reason) : t('sessions_others_ended'), failed.length ? 'error' : 'info');
    await loadSessions(box);
  };
  const logoutAll = async () => {
    if (!await confirmDialog(t('logout_all'), t('logout_all_confirm'), t('logout_all'), true)) return;
    // This tab's socket is closed (4401) too: stop it first, so that the
    // end reads as this user's own logout, not as one from elsewhere.
    live.stop();
    try { await api.logoutAll(); } catch (e) {
      toast(errorText(e), 'error');
      if (api.currentSession()) live.start();
    }
  };
  mount(box,
    h('ul', { class: 'session-list', id: 'session-list', role: 'list' }, list.map((x) => h('li', {
      class: ['session', x.current ? 'session-current' : null],
      dataset: { sessionId: x.id, current: String(Boolean(x.current)) },
    },
    h('div', { class: 'session-head' },
      h('strong', { class: 'session-agent', title: x.user_agent || '' }, shortAgent(x.user_agent) || t('agent_unknown')),
      x.current ? h('span', { class: 'pill pill-active' }, t('session_this_device')) : null),
    h('dl', { class: 'kv compact' },
      h('dt', {}, t('session_created')), h('dd', {}, formatDateTime(x.created_at)),
      h('dt', {}, t('session_last_used')), h('dd', {}, formatDateTime(x.last_used_at))),
    x.current ? null : h('button', { type: 'button', class: 'secondary small end-session', onclick: () => endOne(x) },
      t('session_end'))))),
    h('div', { class: 'buttons' },
      others.length ? h('button', { type: 'button', class: 'secondary', id: 'end-other-sessions', onclick: endOthers },
        t('sessions_end_others')) : h('p', { class: 'muted' }, t('sessions_no_others')),
      h('button', { type: 'button', class: 'danger', id: 'logout-all', onclick: logoutAll }, t('logout_all'))));
}

async function loadTotp(box) {
  let status;
  try { status = await get('/me/totp'); } catch (e) { mount(box, failure(e, () => loadTotp(box))); return; }
  const back = () => loadTotp(box);
  const state = status.enrolled ? 'enrolled' : 'off';
  mount(box,
    h('p', { id: 'totp-status', dataset: { state } },
      h('span', { class: ['pill', status.enrolled ? 'pill-active' : 'pill-revoked'] },
        status.enrolled ? t('totp_on') : t('totp_off')),
      ' ', status.enrolled ? t('totp_on_lead', { n: status.recovery_codes_left ?? 0 }) : t('totp_off_lead')),
    status.required ? h('p', { class: 'hint' }, t('totp_required_policy')) : null,
    h('div', { class: 'buttons' },
      status.enrolled ? [
        h('button', { type: 'button', class: 'secondary', id: 'totp-new-codes', onclick: () => newCodes(box, back) }, t('totp_new_codes')),
        status.required ? null
          : h('button', { type: 'button', class: 'danger', id: 'totp-remove', onclick: () => removeTotp(box, back) }, t('totp_remove')),
      ] : h('button', { type: 'button', class: 'primary', id: 'totp-enrol', onclick: () => startEnrol(box, back) }, t('totp_enrol'))));
}

/** A small form asking for the password (and more fields) before `run`. */
function passwordGate(box, { id, lead, submitLabel, extra = [], run, back, danger = false }) {
  const err = errorBox();
  const pwInput = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, submitLabel);
  const form = h('form', { class: 'form', id, novalidate: true },
    h('p', {}, lead), field(t('password'), pwInput).wrap, extra.map((x) => x.wrap), err.el,
    h('div', { class: 'buttons' }, submit, h('button', { type: 'button', class: 'secondary', onclick: back }, t('cancel'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    if (!pwInput.value) { err.show(t('required_field', { field: t('password') })); pwInput.focus(); return; }
    submit.disabled = true;
    try { await run(pwInput.value); } catch (e) {
      submit.disabled = false;
      if (e.code === 'invalid_credentials') err.show(t('pw_wrong'));
      else if (e.code === 'totp_required') err.show(t('totp_invalid'));
      else err.show(errorText(e));
      pwInput.select();
    }
  });
  mount(box, form);
  pwInput.focus();
}

function startEnrol(box, back) {
  passwordGate(box, {
    id: 'totp-password-form', lead: t('totp_enrol_password'), submitLabel: t('next'), back,
    run: async (password) => {
      const enrolment = await post('/me/totp', { password });
      enrolForm(box, enrolment, {
        confirm: (code) => post('/me/totp/confirm', { code }),
        onDone: () => { toast(t('totp_enabled')); back(); },
        onCancel: back,
      });
    },
  });
}

function newCodes(box, back) {
  passwordGate(box, {
    id: 'totp-codes-form', lead: t('totp_new_codes_lead'), submitLabel: t('totp_new_codes'), back,
    run: async (password) => {
      const res = await post('/me/totp/recovery-codes', { password });
      recoveryCodes(box, res.recovery_codes || [], { onDone: back, lead: t('recovery_lead_new') });
    },
  });
}

function removeTotp(box, back) {
  const code = codeInput('code');
  code.removeAttribute('pattern');
  code.removeAttribute('maxlength');
  code.setAttribute('inputmode', 'text');
  code.className = '';
  passwordGate(box, {
    id: 'totp-remove-form', lead: t('totp_remove_lead'), submitLabel: t('totp_remove'), back, danger: true,
    extra: [field(t('totp_or_recovery'), code)],
    run: async (password) => {
      await del('/me/totp', { password, code: code.value.trim() });
      toast(t('totp_removed'));
      back();
    },
  });
}

function langChoice() {
  const names = { ja: '日本語', en: 'English' };
  return h('fieldset', { class: 'checks lang-choice' },
    h('legend', {}, t('lang_legend')),
    LANGS.map((l) => h('label', { class: 'check', lang: l },
      h('input', { type: 'radio', name: 'lang', value: l, checked: lang() === l, onchange: () => setLang(l) }),
      names[l])));
}
