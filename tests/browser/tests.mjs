// The browser tests of issues 4, 17, 18, 19, 20 and 21. Each test gets a Session `s` (fresh
// browser contexts, request and console recording) and the screenshot helper
// `shot`. Waits are explicit (selectors, polling with timeouts); no sleep is
// an assertion. Tests share one demo server: none changes the password or
// TOTP of a demo account (they make accounts of their own by invitation).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import zlib from 'node:zlib';
import {
  assert, eventually, openNotebook, postEntry, unique, loginOn, totp, unlabelled, createAccount, submitLogin,
  noHorizontalScroll, secretOf, STRONG, WEAK, CHROMIUM, PHONE,
} from './lib.mjs';
import { chromium } from 'playwright-core';

const HINATA = '佐藤 ひなた';

/** A real PNG (w×h, one colour), so that the browser has an image to draw. */
function png(w, h, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const x of buf) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3).map((_, i) => [r, g, b][i % 3])]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
const SOUTA = '高橋 そうた';

export const tests = [
  {
    name: '1. a post in one context appears live in the other; the read count changes',
    async run(s, shot) {
      const guardian = await s.login('guardian.sato');
      const doctor = await s.login('doctor.ito');
      await openNotebook(guardian, HINATA);
      await openNotebook(doctor, HINATA);

      const text = unique('ブラウザテスト：本日の夕食前血糖は正常範囲でした。');
      await postEntry(guardian, { category: 'medical', text });
      await guardian.locator('.timeline .entry', { hasText: text }).waitFor();
      const seq = await guardian.locator('.timeline .entry', { hasText: text }).getAttribute('data-seq');
      const mine = guardian.locator(`.timeline .entry[data-seq="${seq}"]`);
      // Readers of a medical entry besides its author: doctor, school nurse, PHN, coordinator.
      const before = (await mine.locator('.read-count').textContent()).trim();
      assert(/^既読 0\/4$/.test(before), `guardian's new entry should start at 既読 0/4, got "${before}"`);

      // Appears on the doctor's open page without a reload.
      await doctor.locator('.timeline .entry', { hasText: text }).waitFor({ timeout: 10_000 });
      const theirs = doctor.locator(`.timeline .entry[data-seq="${seq}"]`);
      assert(await theirs.getAttribute('data-category') === 'medical', 'entry category on the doctor page');

      // The doctor's page saw it, sent `read`; the guardian gets the receipt.
      await eventually(async () => /^既読 1\/4$/.test((await mine.locator('.read-count').textContent()).trim()),
        'the read count on the guardian page to become 既読 1/4');

      // A correction: the doctor's page shows it with its reason, the original marked.
      await mine.locator('.revise-btn').click();
      const corrected = unique('訂正後：夕食前の血糖は 132 mg/dL でした。');
      await guardian.fill('form.compose textarea[name=text]', corrected);
      await guardian.fill('form.compose textarea[name=reason]', '数値の書き漏れ');
      await guardian.click('form.compose button[type=submit]');
      const revision = doctor.locator('.timeline .entry.revision', { hasText: corrected });
      await revision.waitFor({ timeout: 10_000 });
      const revText = await revision.textContent();
      assert(revText.includes('訂正理由：数値の書き漏れ') && revText.includes('第2版'), `the correction shows its reason: "${revText}"`);
      await theirs.locator('.superseded-note').waitFor();
      assert(await theirs.evaluate((el) => el.classList.contains('superseded')), 'the original is marked as corrected');

      // And the other way round, with a structured kind.
      const vitalText = unique('外来で測定');
      await doctor.click('#compose-open');
      await doctor.selectOption('form.compose select[name=category]', 'medical');
      await doctor.selectOption('form.compose select[name=kind]', 'vital');
      await doctor.selectOption('form.compose select[name=measure]', 'blood_glucose');
      await doctor.fill('form.compose input[name=value]', '112');
      await doctor.fill('form.compose textarea[name=text]', vitalText);
      await shot(doctor, '04-compose-vital');
      await doctor.click('form.compose button[type=submit]');
      const vital = guardian.locator('.timeline .entry', { hasText: vitalText });
      await vital.waitFor({ timeout: 10_000 });
      const value = (await vital.locator('.vital-value').textContent()).trim();
      assert(value === '112', `vital value shown to the guardian: "${value}"`);
      await guardian.evaluate(() => window.scrollTo(0, 0));
      await shot(guardian, '03-notebook-live');
    },
  },

  {
    name: '2. the guardian revokes a professional; their open page shows access ended and no new entries',
    async run(s, shot) {
      const guardian = await s.login('guardian.sato');
      const phn = await s.login('phn.kato');
      const doctor = await s.login('doctor.ito'); // a member who still may read: the positive control
      await openNotebook(phn, HINATA);
      await openNotebook(doctor, HINATA);
      await openNotebook(guardian, HINATA);
      assert(await phn.locator('.timeline .entry').count() > 0, 'the PHN sees entries before the revocation');

      await guardian.click('.tabs a[data-tab=members]');
      const row = guardian.locator('.member', { hasText: '加藤 由美' });
      await row.locator('.revoke-btn').click();
      await shot(guardian, '07-revoke-confirm');
      await guardian.locator('dialog[open] button.danger').click();
      await guardian.locator('.members-ended .member', { hasText: '加藤 由美' }).waitFor();

      const ended = phn.locator('#access-ended');
      await ended.waitFor({ timeout: 10_000 });
      const endedText = await ended.textContent();
      assert(endedText.includes('アクセスは終了'), `the revoked page says access ended: "${endedText}"`);
      assert(await phn.locator('.timeline .entry').count() === 0, 'the revoked page no longer shows entries');
      assert(await phn.locator('#compose-open').count() === 0, 'the revoked page offers no composer');
      await shot(phn, '08-access-ended');

      // A new health entry (a category the PHN had) reaches the doctor but not the PHN.
      await guardian.click('.tabs a[data-tab=timeline]');
      await guardian.waitForSelector('.timeline .entry');
      const text = unique('取り消し後の記録：夜間の血糖は安定しています。');
      await postEntry(guardian, { category: 'health', text });
      await doctor.locator('.timeline .entry', { hasText: text }).waitFor({ timeout: 10_000 });
      assert(await phn.getByText(text).count() === 0, 'the revoked page does not show the new entry');
      assert(await phn.locator('#access-ended').isVisible(), 'the access-ended notice stays');
    },
  },

  {
    name: '3. a teacher without medical sees no medical entry and cannot choose medical',
    async run(s, shot) {
      const teacher = await s.login('teacher.tanaka');
      const guardian = await s.login('guardian.sato');
      await openNotebook(teacher, HINATA);
      await openNotebook(guardian, HINATA);
      const cats = await teacher.locator('.timeline .entry').evaluateAll((els) => els.map((e) => e.dataset.category));
      assert(cats.length > 0, 'the teacher sees some entries');
      assert(cats.every((c) => c === 'education'), `the teacher sees only education entries, got ${[...new Set(cats)]}`);
      assert(await guardian.locator('.timeline .entry[data-category=medical]').count() > 0,
        'the guardian, for comparison, sees medical entries');

      await teacher.click('#compose-open');
      const options = await teacher.locator('form.compose select[name=category] option')
        .evaluateAll((els) => els.map((o) => o.value));
      assert(!options.includes('medical'), `medical must not be offered, got ${options}`);
      assert(options.length === 1 && options[0] === 'education', `only education is offered, got ${options}`);
      await shot(teacher, '05-compose-teacher');
      await teacher.click('form.compose button.secondary');

      // Live: a medical post reaches the guardian's page but not the teacher's;
      // an education post after it reaches both (so the teacher's page was live).
      const medical = unique('医療の記録：インスリン量の変更');
      const education = unique('教育の記録：体育の前に血糖を確認します');
      await postEntry(guardian, { category: 'medical', text: medical });
      await postEntry(guardian, { category: 'education', text: education });
      await teacher.locator('.timeline .entry', { hasText: education }).waitFor({ timeout: 10_000 });
      assert(await teacher.getByText(medical).count() === 0, 'the medical entry never reaches the teacher');
      assert(await teacher.locator('.timeline .entry[data-category=medical]').count() === 0, 'no medical entry on the teacher page');
    },
  },

  {
    name: '4. emergency: raised by the teacher, the tier-1 guardian acknowledges, the teacher sees it',
    async run(s, shot) {
      const teacher = await s.login('teacher.tanaka');
      const guardian = await s.login('guardian.sato');
      await openNotebook(teacher, HINATA);

      await teacher.click('#emergency-btn');
      const dlg = teacher.locator('dialog[open]');
      await dlg.waitFor();
      const message = unique('体育の授業中にふらつき、意識がぼんやりしています。');
      await dlg.locator('textarea').fill(message);
      await shot(teacher, '09-emergency-confirm');
      await dlg.locator('button.danger').click();
      const status = teacher.locator('.alert-status', { hasText: message });
      await status.waitFor();
      assert(await status.getAttribute('data-status') === 'open', 'the raiser sees the alert open');

      // The contact's page shows the full-screen alert (wherever they are).
      const full = guardian.locator('#alert-full');
      await full.waitFor({ state: 'visible', timeout: 10_000 });
      assert((await full.textContent()).includes(message), 'the full-screen alert shows the message');
      assert(await full.getAttribute('role') === 'alertdialog', 'the alert is an alertdialog');
      await shot(guardian, '10-alert-fullscreen');
      await guardian.click('#alert-ack');
      await full.waitFor({ state: 'detached', timeout: 10_000 });

      // The raiser sees it acknowledged by the guardian, live.
      await eventually(async () => (await status.getAttribute('data-status')) === 'acknowledged',
        'the raiser to see the alert acknowledged');
      const line = await status.locator('.alert-ack-line').textContent();
      assert(line.includes('佐藤 美咲'), `acknowledged by the guardian: "${line}"`);
      await status.locator('details.deliveries summary').click();
      await shot(teacher, '11-alert-acknowledged');
      const gstatus = guardian.locator('.alert-status', { hasText: message });
      await gstatus.waitFor();
      assert(await gstatus.getAttribute('data-status') === 'acknowledged', 'the guardian sees it acknowledged too');
    },
  },

  {
    name: '5. Japanese by default, English after the switch; no console errors; no foreign requests',
    async run(s, shot) {
      const page = await s.newUser('i18n');
      assert(await page.getAttribute('html', 'lang') === 'ja', 'html lang is ja by default');
      assert((await page.textContent('#page-title')).trim() === 'ログイン', 'the login title is Japanese');
      await shot(page, '01-login');
      await page.click('#lang-switch');
      await eventually(async () => (await page.textContent('#page-title')).trim() === 'Log in', 'the English login title');
      assert(await page.getAttribute('html', 'lang') === 'en', 'html lang is en after the switch');
      await loginOn(page, 'guardian.sato');
      assert((await page.textContent('#page-title')).trim() === 'My children', 'the children title is English');
      await page.reload();
      await page.waitForSelector('.child-card');
      assert((await page.textContent('#page-title')).trim() === 'My children', 'English persists over a reload');
      await openNotebook(page, HINATA);
      assert((await page.textContent('#compose-open')).trim() === 'Write an entry', 'the composer button is English');
      const enDate = (await page.locator('.entry time').first().textContent()).trim();
      assert(/^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}$/.test(enDate), `English date: "${enDate}"`);
      await shot(page, '12-notebook-english');

      await page.click('#lang-switch');
      await eventually(async () => (await page.textContent('#compose-open')).trim() === '記録を書く', 'Japanese again');
      const jaDate = (await page.locator('.entry time').first().textContent()).trim();
      assert(/^\d{4}年\d{1,2}月\d{1,2}日\([日月火水木金土]\) \d{2}:\d{2}$/.test(jaDate), `Japanese date: "${jaDate}"`);
      // Each category is labelled in Japanese with its colour class and icon.
      const chip = page.locator('.entry .chip').first();
      assert(/^(保健|医療|福祉|子育て・保育|教育|就労|家庭)$/.test((await chip.textContent()).trim()), 'Japanese category label');
      assert(await chip.locator('img').count() === 1, 'category chip has an icon');

      // Visit the other screens too, so that their requests are checked.
      for (const tab of ['members', 'card', 'log', 'timeline']) {
        await page.click(`.tabs a[data-tab=${tab}]`);
        await page.waitForSelector(`.tabs a[data-tab=${tab}][aria-current=page]`);
        await page.waitForLoadState('networkidle');
      }
      await page.click('.navmain a[href="#/orgs"]');
      await page.waitForSelector('.org');

      // PWA: the service worker is active and its cache holds the shell only.
      const pwa = await page.evaluate(async () => {
        const reg = await Promise.race([navigator.serviceWorker.ready, new Promise((r) => setTimeout(() => r(null), 10_000))]);
        const urls = [];
        for (const key of await caches.keys()) {
          for (const req of await (await caches.open(key)).keys()) urls.push(new URL(req.url).pathname);
        }
        const manifest = await (await fetch('/manifest.webmanifest')).json();
        return { active: Boolean(reg?.active), urls, name: manifest.name, icons: manifest.icons.length };
      });
      assert(pwa.active, 'the service worker is active');
      assert(pwa.urls.includes('/js/app.js') && pwa.urls.includes('/css/app.css'), `the shell is cached: ${pwa.urls}`);
      assert(!pwa.urls.some((u) => u.startsWith('/api/')), `no API answer is cached: ${pwa.urls.filter((u) => u.startsWith('/api/'))}`);
      assert(pwa.name === '連絡帳 Renraku' && pwa.icons >= 2, `manifest: ${JSON.stringify(pwa)}`);

      await page.click('#logout');
      await page.waitForSelector('input[name=username]');
      assert(await page.evaluate(() => sessionStorage.getItem('renraku.session')) === null, 'logout clears the session');

      assert(s.consoleErrors.length === 0, `console errors:\n  ${s.consoleErrors.join('\n  ')}`);
      const foreign = s.foreignRequests();
      assert(foreign.length === 0, `requests to other hosts:\n  ${foreign.map((r) => r.url).join('\n  ')}`);
      const own = s.requests.length;
      assert(own > 10, `requests were recorded (${own})`);
    },
  },

  {
    name: '6. screenshots of the main screens at a phone viewport',
    async run(s, shot, artifacts) {
      const fresh = await s.newUser('fresh');
      await shot(fresh, '01-login');
      const guardian = await s.login('guardian.sato');
      await shot(guardian, '02-children');
      const checkLabels = async (page, where) => {
        const bad = await unlabelled(page);
        assert(bad.length === 0, `controls without an accessible name on ${where}:\n  ${bad.join('\n  ')}`);
      };
      await checkLabels(guardian, 'the children list');
      await openNotebook(guardian, HINATA);
      await shot(guardian, '03-notebook');
      await guardian.click('#compose-open');
      await checkLabels(guardian, 'the notebook with the composer');
      await guardian.click('form.compose button.secondary');
      // A correction (revision) next to its original.
      const revision = guardian.locator('.timeline .entry.revision').first();
      await revision.scrollIntoViewIfNeeded();
      await revision.locator('details.original summary').click();
      await shot(guardian, '06-correction');
      await guardian.evaluate(() => window.scrollTo(0, 0));
      await guardian.click('.tabs a[data-tab=members]');
      await guardian.waitForSelector('.member');
      await shot(guardian, '13-members-guardian', { fullPage: true });
      await checkLabels(guardian, 'the members screen');
      await guardian.click('.tabs a[data-tab=card]');
      await guardian.waitForSelector('.emergency-card');
      await shot(guardian, '14-emergency-card', { fullPage: true });
      await guardian.click('#contacts-edit');
      await guardian.waitForSelector('form.contacts-form select');
      await shot(guardian, '14b-contacts-edit');
      await checkLabels(guardian, 'the contacts editor');
      await guardian.click('form.contacts-form button.secondary');
      await guardian.waitForSelector('.emergency-card');
      await guardian.click('.tabs a[data-tab=log]');
      await guardian.waitForSelector('.log-table tbody tr');
      await shot(guardian, '15-access-log');
      // Every action in Japanese, people by name, never a raw id (issue 18).
      const logText = await guardian.locator('.log-table tbody').innerText();
      assert(!/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(logText),
        'a raw id on the access-log screen');
      assert(logText.includes('メンバー一覧の閲覧'), 'read_members is not labelled in Japanese');
      const actions = await guardian.locator('.log-table tbody td:nth-child(3)').allInnerTexts();
      assert(actions.every((a) => !/^[a-z_]+$/.test(a.trim())), `an action without a label: ${actions.join(', ')}`);
      await guardian.click('.navmain a[href="#/orgs"]');
      await guardian.waitForSelector('.org');
      await shot(guardian, '16-orgs');

      // A pending request waiting for the guardian's approval.
      const takahashi = await s.login('guardian.takahashi');
      await openNotebook(takahashi, SOUTA);
      await takahashi.click('.tabs a[data-tab=members]');
      await takahashi.waitForSelector('.members-requested .member');
      await shot(takahashi, '17-members-pending');
      // A professional's view: request access for a colleague.
      const coordinator = await s.login('coordinator.yamada');
      await openNotebook(coordinator, SOUTA);
      await coordinator.click('.tabs a[data-tab=members]');
      await coordinator.waitForSelector('form.add-member');
      await coordinator.fill('form.add-member input[name=query]', 'ogawa');
      await coordinator.click('form.add-member .search-row button');
      await coordinator.locator('.search-results button').first().click();
      await coordinator.locator('form.add-member').scrollIntoViewIfNeeded();
      await shot(coordinator, '18-request-access');

      // The access log, newest first, for the family only.
      assert(await coordinator.locator('.tabs a[data-tab=log]').count() === 0, 'professionals get no access-log tab');

      const files = await artifacts();
      for (const need of ['01-login', '02-children', '03-notebook', '06-correction', '13-members-guardian', '14-emergency-card',
        '15-access-log', '16-orgs', '17-members-pending', '18-request-access']) {
        assert(files.includes(`${need}.png`), `screenshot ${need}.png was saved`);
      }
    },
  },

  {
    name: '7. narrowing consent takes effect on the open page',
    async run(s, shot) {
      const guardian = await s.login('guardian.sato');
      const coordinator = await s.login('coordinator.yamada');
      await openNotebook(coordinator, HINATA);
      assert(await coordinator.locator('.timeline .entry[data-category=medical]').count() > 0, 'medical entries before');
      await openNotebook(guardian, HINATA);
      await guardian.click('.tabs a[data-tab=members]');
      await guardian.locator('.member', { hasText: '山田 恵' }).locator('.edit-btn').click();
      const dlg = guardian.locator('dialog[open]');
      await dlg.locator('input[type=checkbox][value=medical]').uncheck();
      await shot(guardian, '19-consent-narrow');
      await dlg.locator('button[type=submit]').click();
      await dlg.waitFor({ state: 'detached' });
      await eventually(async () => await coordinator.locator('.timeline .entry[data-category=medical]').count() === 0,
        'medical entries to leave the coordinator page');
      assert(await coordinator.locator('.timeline .entry').count() > 0, 'other entries stay');
      await coordinator.click('#compose-open');
      const options = await coordinator.locator('form.compose select[name=category] option').evaluateAll((els) => els.map((o) => o.value));
      assert(!options.includes('medical'), `medical no longer offered: ${options}`);
    },
  },

  {
    name: '8. offline and reconnect resume from the last seq; a session ended elsewhere returns to login',
    async run(s, shot) {
      const guardian = await s.login('guardian.sato');
      const doctor = await s.login('doctor.ito');
      await openNotebook(guardian, HINATA);
      await openNotebook(doctor, HINATA);
      const ctx = doctor.context();
      await ctx.setOffline(true);
      await doctor.locator('#connbar[data-state=offline]').waitFor();
      await shot(doctor, '20-offline');
      const text = unique('オフライン中の記録');
      await postEntry(guardian, { category: 'medical', text });
      await ctx.setOffline(false);
      await doctor.locator('.timeline .entry', { hasText: text }).waitFor({ timeout: 20_000 });
      await doctor.locator('#connbar').waitFor({ state: 'hidden' });
      const dup = await doctor.locator('.timeline .entry', { hasText: text }).count();
      assert(dup === 1, `the resumed entry is shown once (${dup})`);

      // The session is ended on the server (as by a logout elsewhere): the
      // socket closes with 4401, the refresh fails, the page returns to login.
      const status = await doctor.evaluate(async () => {
        const sess = JSON.parse(sessionStorage.getItem('renraku.session'));
        const r = await fetch('/api/v1/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${sess.access_token}` } });
        return r.status;
      });
      assert(status === 204, `logout answered ${status}`);
      await doctor.locator('input[name=username]').waitFor({ timeout: 15_000 });
      assert(await doctor.evaluate(() => sessionStorage.getItem('renraku.session')) === null, 'the session is cleared');
      const notice = doctor.locator('#session-notice[data-reason=ended]');
      await notice.waitFor();
      const noticeText = await notice.textContent();
      assert(noticeText.includes('セッションが終了'), `the login page says the session ended: "${noticeText}"`);
      assert(await notice.getAttribute('role') === 'status', 'the notice is a status');
      await shot(doctor, '20b-session-ended');
    },
  },

  {
    name: '9. forced TOTP enrolment at login: QR, confirm, recovery codes once, then the login step',
    serverArgs: ['--totp-policy', 'professionals'],
    async run(s, shot) {
      const page = await s.newUser('nurse.suzuki');
      await submitLogin(page, 'nurse.suzuki', 'renraku-demo');
      // 403 totp_enrollment_required: the enrolment screen, with the QR code of the URI.
      const qr = page.locator('#totp-qr');
      await qr.waitFor();
      const uri = await qr.getAttribute('data-otpauth-uri');
      assert(uri.startsWith('otpauth://totp/'), `otpauth URI on the QR code: ${uri}`);
      assert(await qr.locator('svg.qr path').count() === 1, 'the QR code is drawn');
      const secret = secretOf(uri);
      const shown = (await page.textContent('#totp-secret')).replace(/\s+/g, '');
      assert(shown === secret, `the secret as text (${shown}) is the URI's (${secret})`);
      await shot(page, '21-totp-enrol');
      await page.fill('input[autocomplete=one-time-code]', totp(secret));
      await page.click('#totp-confirm');
      // The ten recovery codes, once; continuing needs the "saved" box.
      await page.locator('#recovery-codes').waitFor();
      const codes = await page.locator('#recovery-codes li').allTextContents();
      assert(codes.length === 10, `10 recovery codes shown: ${codes.length}`);
      assert(await page.locator('#recovery-continue').isDisabled(), 'continue waits for "I have saved them"');
      await shot(page, '21b-recovery-codes');
      await page.check('#recovery-saved');
      await page.click('#recovery-continue');
      // Enrolled: the TOTP step of the login (the code just used is spent; use the next step's).
      await page.locator('#session-notice[data-reason=totp_enrolled]').waitFor();
      await shot(page, '22-totp-code');
      await page.fill('input[autocomplete=one-time-code]', totp(secret, 1));
      await page.click('form button[type=submit]');
      await page.waitForSelector('.child-card');
      // The one expected: Chromium logs the 403 totp_enrollment_required answer.
      const unexpected = s.consoleErrors.filter((e) => !/status of 403/.test(e));
      assert(unexpected.length === 0, `console errors:\n  ${unexpected.join('\n  ')}`);
      s.consoleErrors.length = 0;
    },
  },

  {
    name: '10. the service worker shows a Web Push alert as a notification; the page offers notifications',
    async run(s, shot) {
      const page = await s.login('guardian.sato');
      await page.context().grantPermissions(['notifications'], { origin: s.origin });
      await page.reload();
      await page.waitForSelector('.child-card');
      await page.locator('#push-enable').waitFor();
      await page.evaluate(() => navigator.serviceWorker.ready);
      // Deliver a push as a push service would (payload: no child data).
      const cdp = await page.context().newCDPSession(page);
      const regs = [];
      cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => regs.push(...e.registrations));
      await cdp.send('ServiceWorker.enable');
      const reg = await eventually(() => regs.find((r) => !r.isDeleted && r.scopeURL === `${s.origin}/`), 'the service worker registration');
      const payload = { type: 'alert', alert_id: '00000000-0000-7000-8000-000000000000', title: '緊急通報', body: '連絡帳を開いて確認してください' };
      await cdp.send('ServiceWorker.deliverPushMessage', { origin: s.origin, registrationId: reg.registrationId, data: JSON.stringify(payload) });
      const shown = await eventually(async () => {
        const list = await page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications())
          .map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data, sticky: n.requireInteraction })));
        return list.length ? list : null;
      }, 'the notification to be shown');
      assert(shown[0].title === payload.title && shown[0].body === payload.body, `notification: ${JSON.stringify(shown[0])}`);
      assert(shown[0].data.alert_id === payload.alert_id && shown[0].sticky, 'the alert notification carries its id and stays');
      assert(s.consoleErrors.length === 0, `console errors:\n  ${s.consoleErrors.join('\n  ')}`);
    },
  },

  {
    name: '11. the access token is renewed on the open WebSocket: live entries over several lifetimes, one socket',
    serverArgs: ['--access-token-ttl', '6'],
    async run(s, shot) {
      const guardian = await s.newUser('guardian.sato');
      const sockets = [];
      const renewals = [];
      guardian.on('websocket', (ws) => {
        sockets.push(ws.url());
        ws.on('framesent', (f) => {
          try {
            const frame = JSON.parse(typeof f.payload === 'string' ? f.payload : f.payload.toString());
            if (frame.type === 'auth' && frame.ref) renewals.push(frame.ref);
          } catch { /* not JSON */ }
        });
      });
      await loginOn(guardian, 'guardian.sato');
      await openNotebook(guardian, HINATA);
      const doctor = await s.login('doctor.ito');
      await openNotebook(doctor, HINATA);
      const token0 = await guardian.evaluate(() => JSON.parse(sessionStorage.getItem('renraku.session')).access_token);

      // Three lifetimes of 6 s and more: an entry every 3 s or so must arrive live.
      const started = Date.now();
      let n = 0;
      while (Date.now() - started < 20_000) {
        n += 1;
        const text = unique(`トークン更新中の記録 ${n}`);
        await postEntry(doctor, { category: 'medical', text });
        await guardian.locator('.timeline .entry', { hasText: text }).waitFor({ timeout: 10_000 });
        assert(await guardian.locator('#connbar').isHidden(), `no reconnecting bar on the guardian page (entry ${n})`);
        await guardian.waitForTimeout(2_500); // pacing only; the assertions are the waits above
      }
      const token1 = await guardian.evaluate(() => JSON.parse(sessionStorage.getItem('renraku.session')).access_token);
      assert(token1 !== token0, 'the access token was refreshed');
      assert(renewals.length >= 2, `the socket was re-authenticated after each refresh (${renewals.length} auth frames with a ref)`);
      assert(sockets.length === 1, `one WebSocket for the whole time, no reconnect: ${sockets.length}`);
      assert(s.consoleErrors.length === 0, `console errors:\n  ${s.consoleErrors.join('\n  ')}`);
    },
  },

  {
    name: '12. settings: end a session open elsewhere, change the password (weak refused), enrol TOTP, log in with a recovery code',
    async run(s, shot) {
      const login = `settings.${Date.now().toString(36)}`;
      const [pw1, pw2] = STRONG;
      await createAccount(s, { login, display_name: '設定 試験', profession: 'nurse', password: pw1 });
      const a = await s.newUser(`${login} A`);
      await submitLogin(a, login, pw1);
      await a.waitForSelector('.children-empty, .child-card');
      const b = await s.newUser(`${login} B`);
      await submitLogin(b, login, pw1);
      await b.waitForSelector('.children-empty, .child-card');

      await a.click('#nav-settings');
      await a.waitForSelector('#session-list .session');
      await a.waitForSelector('#totp-status');
      assert(await a.locator('#session-list .session').count() === 2, 'two sessions listed');
      const current = a.locator('#session-list .session[data-current=true]');
      assert((await current.textContent()).includes('この端末'), 'the current session says この端末');
      assert(await current.locator('.end-session').count() === 0, 'the current session has no end button');
      assert(/Chrome/.test(await current.locator('.session-agent').textContent()), 'the device is shortened from the user agent');
      await shot(a, '23-settings', { fullPage: true });
      await noHorizontalScroll(a, 'the settings screen');
      const bad = await unlabelled(a);
      assert(bad.length === 0, `controls without an accessible name on the settings screen:\n  ${bad.join('\n  ')}`);

      // End B from A: B's open page returns to login, saying why.
      await a.locator('#session-list .session[data-current=false] .end-session').click();
      await a.locator('dialog[open] button.danger').click();
      await b.locator('#session-notice[data-reason=ended]').waitFor({ timeout: 15_000 });
      await eventually(async () => await a.locator('#session-list .session').count() === 1, 'one session left in the list');

      // B comes back; a password change on A ends B again, A stays.
      await submitLogin(b, login, pw1);
      await b.waitForSelector('.children-empty, .child-card');
      await a.fill('#password-form input[name=current-password]', pw1);
      await a.fill('#password-form input[name=new-password]', WEAK);
      await a.fill('#password-form input[name=confirm-password]', WEAK);
      await a.click('#password-submit');
      const weak = a.locator('#password-form .password-error');
      await weak.waitFor();
      assert(await weak.getAttribute('role') === 'alert', 'the weak-password message is an alert');
      assert((await weak.textContent()).includes('使えません'), `the server's refusal is shown in place: "${await weak.textContent()}"`);
      await shot(a, '24-settings-weak-password');
      await a.fill('#password-form input[name=new-password]', pw2);
      await a.fill('#password-form input[name=confirm-password]', pw2);
      await a.click('#password-submit');
      await a.locator('#password-form .pw-done').waitFor();
      await b.locator('#session-notice[data-reason=ended]').waitFor({ timeout: 15_000 });
      assert(await a.locator('#session-list .session').count() === 1, 'A stays logged in after its own change');

      // Voluntary TOTP enrolment with the password.
      await a.click('#totp-enrol');
      await a.fill('#totp-password-form input[name=password]', pw2);
      await a.click('#totp-password-form button[type=submit]');
      const qr = a.locator('#totp-qr');
      await qr.waitFor();
      const secret = secretOf(await qr.getAttribute('data-otpauth-uri'));
      await shot(a, '25-settings-totp-enrol');
      await a.fill('#settings-totp input[autocomplete=one-time-code]', totp(secret));
      await a.click('#totp-confirm');
      await a.locator('#recovery-codes').waitFor();
      const codes = (await a.locator('#recovery-codes li').allTextContents()).map((c) => c.trim());
      assert(codes.length === 10, `10 recovery codes: ${codes.length}`);
      await shot(a, '26-settings-recovery-codes');
      await a.check('#recovery-saved');
      await a.click('#recovery-continue');
      await a.locator('#totp-status[data-state=enrolled]').waitFor();

      // A fresh context logs in with a recovery code; the same code fails a second time.
      const c = await s.newUser(`${login} C`);
      await submitLogin(c, login, pw2);
      await c.click('#use-recovery');
      await c.fill('input[name=recovery_code]', codes[0]);
      await shot(c, '27-login-recovery-code');
      await c.click('form button[type=submit]');
      await c.waitForSelector('.children-empty, .child-card');
      const d = await s.newUser(`${login} D`);
      await submitLogin(d, login, pw2);
      await d.click('#use-recovery');
      await d.fill('input[name=recovery_code]', codes[0]);
      await d.click('form button[type=submit]');
      await d.locator('.form-error', { hasText: 'リカバリーコード' }).waitFor();

      // "Log out on all devices" from A: A returns to login without a reason, C with one.
      await a.click('#logout-all');
      await a.locator('dialog[open] button.danger').click();
      await a.waitForSelector('input[name=username]');
      assert(await a.locator('#session-notice').count() === 0, 'no notice after one\'s own logout');
      await c.locator('#session-notice[data-reason=ended]').waitFor({ timeout: 15_000 });
      // Expected: 401s of the refused attempts (weak password, spent code, TOTP step).
      s.consoleErrors = s.consoleErrors.filter((e) => !/status of (400|401)/.test(e));
    },
  },

  {
    name: '13. accounts: the admin invites a professional, the link is accepted elsewhere, disabling throws them out',
    async run(s, shot) {
      const admin = await s.login('admin');
      await admin.click('#nav-accounts');
      await admin.waitForSelector('#account-list .account');
      await noHorizontalScroll(admin, 'the accounts screen');
      const login = `invited.${Date.now().toString(36)}`;
      await admin.fill('#invite-form input[name=login]', login);
      await admin.fill('#invite-form input[name=display_name]', '招待 花子');
      await admin.selectOption('#invite-form select[name=kind]', 'professional');
      await admin.selectOption('#invite-form select[name=profession]', 'nurse');
      const orgValue = await admin.locator('#invite-form select[name=org_id] option', { hasText: '訪問看護ステーションそら' }).getAttribute('value');
      await admin.selectOption('#invite-form select[name=org_id]', orgValue);
      await shot(admin, '28-accounts-invite-form');
      await admin.click('#invite-create');
      const card = admin.locator('#invitation');
      await card.waitFor();
      const code = (await admin.textContent('#invite-code')).trim();
      assert(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$/.test(code), `invitation code: ${code}`);
      const link = await admin.getAttribute('#invite-link', 'href');
      assert(link === `${s.origin}/#/invite/${code}`, `invitation link: ${link}`);
      assert(await admin.getAttribute('#invite-qr', 'data-link') === link, 'the QR code holds the link');
      assert(await admin.locator('#invite-qr svg.qr path').count() === 1, 'the QR code is drawn');
      await card.scrollIntoViewIfNeeded();
      await shot(admin, '29-accounts-invitation');
      const row = admin.locator(`#account-list .account[data-login="${login}"]`);
      await row.waitFor();
      assert(await row.getAttribute('data-status') === 'invited', 'the new account is 招待中');
      assert((await row.textContent()).includes('招待中'), 'the list says 招待中');
      const bad = await unlabelled(admin);
      assert(bad.length === 0, `controls without an accessible name on the accounts screen:\n  ${bad.join('\n  ')}`);

      // The invitation link, in a fresh context: the code is filled in; a weak password is refused in place.
      const invited = await s.newUser(login);
      await invited.goto(link);
      await invited.waitForSelector('form.invite-accept');
      assert(await invited.inputValue('input[name=code]') === code, 'the code is prefilled from the link');
      await invited.fill('input[name=new-password]', WEAK);
      await invited.fill('input[name=confirm-password]', WEAK);
      await invited.click('#invite-submit');
      await invited.locator('.password-error').waitFor();
      await shot(invited, '30-invite-weak-password', { fullPage: true });
      await noHorizontalScroll(invited, 'the invitation page');
      await invited.fill('input[name=new-password]', STRONG[2]);
      await invited.fill('input[name=confirm-password]', STRONG[2]);
      await invited.click('#invite-submit');
      await invited.waitForSelector('.children-empty, .child-card');
      assert((await invited.textContent('.whoami')).includes('招待 花子'), 'logged in as the invited account');

      // Active now; disabling it throws the invited page out to the login screen.
      await admin.reload();
      await row.waitFor();
      assert(await row.getAttribute('data-status') === 'active', 'the accepted account is 有効');
      await row.locator('.disable-btn').click();
      await admin.locator('dialog[open] button.danger').click();
      await eventually(async () => (await row.getAttribute('data-status')) === 'disabled', 'the row to say 無効');
      await invited.locator('#session-notice[data-reason=ended]').waitFor({ timeout: 15_000 });
      await shot(invited, '31-login-session-ended');
      await submitLogin(invited, login, STRONG[2]);
      await invited.locator('.form-error', { hasText: '正しくありません' }).waitFor();
      await row.scrollIntoViewIfNeeded();
      await shot(admin, '32-accounts-list');

      // Enable again, then reset: a new invitation is shown, the account is invited again.
      await row.locator('.enable-btn').click();
      await admin.locator('dialog[open] button.primary').click();
      await eventually(async () => (await row.getAttribute('data-status')) === 'active', 'the row to say 有効 again');
      await row.locator('.reset-btn').click();
      await admin.locator('dialog[open] button.danger').click();
      await eventually(async () => (await admin.getAttribute('#invitation', 'data-code')) !== code, 'a new invitation');
      await eventually(async () => (await row.getAttribute('data-status')) === 'invited', 'the row to say 招待中 again');
      // Expected: the refused weak password (400) and the disabled login (401).
      s.consoleErrors = s.consoleErrors.filter((e) => !/status of (400|401)/.test(e));
    },
  },

  {
    name: '14. a disabled member is marked 利用停止 in the member list (and not after enabling)',
    async run(s, shot) {
      const admin = await s.login('admin');
      await admin.click('#nav-accounts');
      const row = admin.locator('#account-list .account[data-login="doctor.mori"]');
      await row.waitFor();
      await row.locator('.disable-btn').click();
      await admin.locator('dialog[open] button.danger').click();
      await eventually(async () => (await row.getAttribute('data-status')) === 'disabled', 'doctor.mori disabled');
      try {
        const guardian = await s.login('guardian.watanabe');
        await openNotebook(guardian, '渡辺 蓮');
        await guardian.click('.tabs a[data-tab=members]');
        const member = guardian.locator('.member', { hasText: '森 健一' });
        await member.waitFor();
        assert(await member.getAttribute('data-disabled') === 'true', 'the row is marked disabled');
        assert((await member.locator('.disabled-badge').textContent()).trim() === '利用停止', 'the badge says 利用停止');
        assert(await guardian.locator('.member[data-disabled=true]').count() === 1, 'only that member is marked');
        await member.scrollIntoViewIfNeeded();
        await shot(guardian, '33-members-disabled');
      } finally {
        await row.locator('.enable-btn').click();
        await admin.locator('dialog[open] button.primary').click();
        await eventually(async () => (await row.getAttribute('data-status')) === 'active', 'doctor.mori enabled again');
      }
    },
  },

  {
    name: '15. screenshots of settings and accounts in English and at a desktop width',
    async run(s, shot) {
      const admin = await s.login('admin', { viewport: { width: 1280, height: 900 } });
      await admin.click('#nav-settings');
      await admin.waitForSelector('#totp-status');
      await admin.waitForSelector('#session-list .session');
      await shot(admin, '34-settings-desktop', { fullPage: true });
      await admin.click('#nav-accounts');
      await admin.waitForSelector('#account-list .account');
      await shot(admin, '35-accounts-desktop', { fullPage: true });
      const phone = await s.login('admin');
      await phone.click('#lang-switch');
      await phone.click('#nav-accounts');
      await eventually(async () => (await phone.textContent('#page-title')).trim() === 'Accounts', 'the English accounts title');
      await phone.waitForSelector('#account-list .account');
      await noHorizontalScroll(phone, 'the English accounts screen');
      await shot(phone, '36-accounts-english');
      await phone.click('#nav-settings');
      await eventually(async () => (await phone.textContent('#page-title')).trim() === 'Settings', 'the English settings title');
      await phone.waitForSelector('#totp-status');
      await noHorizontalScroll(phone, 'the English settings screen');
      await shot(phone, '37-settings-english', { fullPage: true });
      // Back to Japanese through the settings' own switch.
      await phone.check('#settings-lang input[value=ja]');
      await eventually(async () => (await phone.textContent('#page-title')).trim() === '設定', 'Japanese again');
      // A professional without admin rights sees no accounts link.
      const doctor = await s.login('doctor.ito');
      assert(await doctor.locator('#nav-accounts').count() === 0, 'no accounts link for a professional');
      assert(await doctor.locator('#nav-settings').count() === 1, 'a settings link for everyone');
    },
  },

  {
    name: '16. an idle session expires: the page returns to login saying so',
    serverArgs: ['--session-idle-timeout', '10'],
    async run(s, shot) {
      const page = await s.login('guardian.takahashi');
      await openNotebook(page, SOUTA);
      // Nothing reaches the server while offline: the session idles out.
      await page.context().setOffline(true);
      await page.locator('#connbar[data-state=offline]').waitFor();
      await page.waitForTimeout(16_000); // idle timeout (10 s) + the server's 5 s to notice
      await page.context().setOffline(false);
      // Any request now meets the ended session (the socket's reconnect, or this).
      await page.evaluate(() => { location.hash = '#/settings'; });
      const notice = page.locator('#session-notice[data-reason=expired]');
      await notice.waitFor({ timeout: 20_000 });
      const text = await notice.textContent();
      assert(text.includes('ログアウトしました'), `the login page says the session expired: "${text}"`);
      assert(await page.evaluate(() => sessionStorage.getItem('renraku.session')) === null, 'the session is cleared');
      await shot(page, '38-session-expired');
      s.consoleErrors = s.consoleErrors.filter((e) => !/status of 401/.test(e));
    },
  },

  {
    name: '17. an organization admin manages only its own organization: invite a professional, see its accounts',
    async run(s, shot) {
      const login = `orgadmin.${Date.now().toString(36)}`;
      const org = '訪問看護ステーションそら';
      await createAccount(s, { login, display_name: '機関 管理者', profession: 'nurse', password: STRONG[1], org, org_admin: true });
      const page = await s.newUser(login);
      await submitLogin(page, login, STRONG[1]);
      await page.waitForSelector('.children-empty, .child-card');
      await page.click('#nav-accounts');
      await page.waitForSelector('#account-list .account');
      assert((await page.textContent('main .lead')).includes(org), 'the screen names the organization');
      assert(await page.locator('#invite-form select[name=kind]').count() === 0, 'an org admin picks no kind');
      assert(await page.locator('#invite-form select[name=org_id]').isHidden(), 'an org admin picks no organization');
      assert(await page.locator('#invite-form input[name=org_admin]').isHidden(), 'an org admin grants no org-admin right');
      // Only its organization's accounts: itself and the demo nurse of that station.
      const logins = await page.locator('#account-list .account').evaluateAll((els) => els.map((e) => e.dataset.login));
      assert(logins.includes(login) && logins.includes('nurse.suzuki'), `own organization listed: ${logins}`);
      assert(!logins.includes('doctor.ito') && !logins.includes('guardian.sato'), `no other accounts: ${logins}`);
      assert(await page.locator(`#account-list .account[data-login="${login}"] .disable-btn`).count() === 0,
        'no disable button on one\'s own account');
      const sub = `${login}.staff`;
      await page.fill('#invite-form input[name=login]', sub);
      await page.fill('#invite-form input[name=display_name]', '機関 スタッフ');
      await page.selectOption('#invite-form select[name=profession]', 'physical_therapist');
      await page.click('#invite-create');
      await page.locator('#invitation').waitFor();
      const row = page.locator(`#account-list .account[data-login="${sub}"]`);
      await row.waitFor();
      assert(await row.getAttribute('data-status') === 'invited', 'the new staff account is 招待中');
      assert((await row.textContent()).includes(org), 'in the organization');
      await shot(page, '39-accounts-org-admin', { fullPage: true });
    },
  },

  {
    name: '18. a professional\'s request appears live on the guardian\'s open page and is approved with a narrower scope',
    async run(s, shot) {
      const guardian = await s.login('guardian.sato');
      await guardian.waitForSelector('.child-card');
      assert(await guardian.locator('#requests').count() === 0, 'no request waits before');
      const coord = await s.login('coordinator.yamada');
      await openNotebook(coord, HINATA);
      await coord.click('.tabs a[data-tab=members]');
      await coord.fill('form.add-member input[name=query]', '鈴木');
      await coord.click('form.add-member .search-row button');
      await coord.locator('form.add-member .search-results button').first().click();
      await coord.locator('form.add-member fieldset.checks input[value=health]').check();
      await coord.locator('form.add-member fieldset.checks input[value=family]').check();
      await coord.fill('form.add-member input[name=purpose]', '訪問看護の情報共有');
      await coord.click('form.add-member button[type=submit]');
      await coord.locator('.members-requested .member', { hasText: '鈴木' }).waitFor();

      // Live on the guardian's open page: the request and the child's badge.
      const item = guardian.locator('#requests .request', { hasText: '鈴木' });
      await item.waitFor({ timeout: 10_000 });
      assert((await item.textContent()).includes(HINATA), 'the request names the child');
      assert(await guardian.locator('.child-card', { hasText: HINATA }).locator('.badge-requests').count() === 1,
        'the child card carries a request badge');
      await shot(guardian, '40-request-live');
      // Approved with health only (family unchecked).
      await item.locator('.narrow-request').click();
      await guardian.locator('dialog[open] fieldset.checks input[value=family]').uncheck();
      await shot(guardian, '41-request-approve-narrowed');
      await guardian.locator('dialog[open] button.primary').click();
      await eventually(async () => (await guardian.locator('#requests').count()) === 0, 'the request is gone');
      await coord.reload();
      const member = coord.locator('.members-active .member', { hasText: '鈴木' });
      await member.waitFor({ timeout: 10_000 });
      const cats = await member.locator('.chip').allTextContents();
      assert(cats.length === 1 && cats[0].includes('保健'), `approved with health only: ${cats}`);
    },
  },

  {
    name: '19. a youth sees no guardian buttons until consent passes to them; then they decide',
    async run(s, shot) {
      const REN = '渡辺 蓮';
      const youth = await s.login('youth.watanabe');
      await openNotebook(youth, REN);
      await youth.click('.tabs a[data-tab=members]');
      await youth.locator('#consent-note').waitFor();
      assert(await youth.locator('#consent-note').getAttribute('data-holder') === 'guardians', 'the guardians hold consent');
      for (const sel of ['.approve-btn', '.revoke-btn', '.edit-btn']) {
        assert(await youth.locator(sel).count() === 0, `no ${sel} for the youth before the transfer`);
      }
      await shot(youth, '42-youth-before-transfer');
      // At 16, the youth's own request is refused (the consent age is 18).
      await youth.click('#transfer-btn');
      await youth.locator('dialog[open] button.primary').click();
      await youth.locator('.toast.error', { hasText: '18歳' }).waitFor({ timeout: 10_000 });
      assert(await youth.locator('#consent-note').getAttribute('data-holder') === 'guardians', 'nothing changed');

      const guardian = await s.login('guardian.watanabe');
      await openNotebook(guardian, REN);
      await guardian.click('.tabs a[data-tab=members]');
      await guardian.click('#transfer-btn');
      await shot(guardian, '43-transfer-confirm');
      await guardian.locator('dialog[open] button.primary').click();
      await eventually(async () => (await guardian.locator('#consent-note').getAttribute('data-holder')) === 'youth',
        'consent passed');
      assert(await guardian.locator('.revoke-btn, .edit-btn').count() === 0, 'the guardian no longer manages consent');

      await youth.reload();
      await youth.locator('#consent-note[data-holder=youth]').waitFor();
      const row = youth.locator('.members-active .member', { hasText: '清水' });
      await row.locator('.revoke-btn').click();
      await youth.locator('dialog[open] button.danger').click();
      await youth.locator('.members-ended .member', { hasText: '清水' }).waitFor();
      await shot(youth, '44-youth-decides');
    },
  },

  {
    name: '20. the security log: admins only, events in Japanese, people by name, never a raw id',
    async run(s, shot) {
      const admin = await s.login('admin');
      await admin.click('#nav-security');
      await admin.waitForSelector('.log-table tbody tr');
      const text = await admin.locator('.log-table tbody').innerText();
      assert(!/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(text),
        'a raw id on the security-log screen');
      assert(text.includes('ログイン') && text.includes('管理者'), 'the admin\'s own login, by name');
      const events = await admin.locator('.log-table tbody td:nth-child(3)').allInnerTexts();
      assert(events.every((e) => !/^[a-z_]+$/.test(e.trim())), `an event without a label: ${events.join(', ')}`);
      await noHorizontalScroll(admin, 'the security-log screen');
      await shot(admin, '45-security-log', { fullPage: true });
      const guardian = await s.login('guardian.sato');
      assert(await guardian.locator('#nav-security').count() === 0, 'no security log for a guardian');
    },
  },

  {
    name: '21. onboarding: a coordinator registers a child and invites two guardians in one flow; a guardian accepts and sees the notebook',
    async run(s, shot) {
      const coord = await s.login('coordinator.yamada');
      await coord.click('#register-child');
      await coord.waitForSelector('#onboard-form');
      const child = unique('青空 はると');
      const suffix = Date.now().toString(36);
      await coord.fill('#onboard-form input[name=name]', child);
      await coord.fill('#onboard-form input[name=name_kana]', 'あおぞら はると');
      await coord.fill('#onboard-form input[name=birth_date]', '2019-05-05');
      await coord.selectOption('#onboard-form select[name=disease_group]', '4');
      await coord.fill('#onboard-form textarea[name=diagnosis]', '先天性心疾患（術後）');
      // The first guardian; the form refuses a second one left empty.
      await coord.fill('.guardian-row:nth-child(1) input[name=guardian_name]', '青空 母');
      await coord.fill('.guardian-row:nth-child(1) input[name=guardian_login]', `aozora.mother.${suffix}`);
      await coord.click('#onboard-add-guardian');
      await coord.click('#onboard-submit');
      await coord.locator('#onboard-form .form-error', { hasText: '表示名' }).waitFor();
      await coord.fill('.guardian-row:nth-child(2) input[name=guardian_name]', '青空 父');
      await coord.fill('.guardian-row:nth-child(2) input[name=guardian_login]', `aozora.father.${suffix}`);
      const bad = await unlabelled(coord);
      assert(bad.length === 0, `controls without an accessible name on the onboarding form:\n  ${bad.join('\n  ')}`);
      await noHorizontalScroll(coord, 'the onboarding form');
      await shot(coord, '46-onboard-form', { fullPage: true });
      await coord.click('#onboard-submit');
      await coord.waitForSelector('#onboard-done');
      assert((await coord.textContent('#onboard-done')).includes(child), 'the done notice names the child');
      const sheets = coord.locator('#onboard-sheets .invitation');
      assert(await sheets.count() === 2, 'one invitation sheet per guardian');
      const mother = sheets.filter({ hasText: `aozora.mother.${suffix}` });
      const code = (await mother.locator('.invite-code').textContent()).trim();
      assert(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$/.test(code), `invitation code: ${code}`);
      const link = await mother.locator('.invite-link').getAttribute('href');
      assert(link === `${s.origin}/#/invite/${code}`, `invitation link: ${link}`);
      assert(await mother.locator('.qr-box svg.qr path').count() === 1, 'the QR code is drawn');
      assert(await coord.locator('#onboard-print-all').count() === 1, 'one button prints every sheet');
      await noHorizontalScroll(coord, 'the invitation sheets');
      await shot(coord, '47-onboard-invitations', { fullPage: true });

      // The mother, in a fresh browser: the link, her own password, the child's notebook.
      const guardian = await s.newUser('invited mother');
      await guardian.goto(link);
      await guardian.waitForSelector('form.invite-accept');
      await guardian.fill('input[name=new-password]', STRONG[0]);
      await guardian.fill('input[name=confirm-password]', STRONG[0]);
      await guardian.click('#invite-submit');
      await guardian.locator('.child-card', { hasText: child }).waitFor();
      assert((await guardian.textContent('.whoami')).includes('青空 母'), 'logged in as the mother');
      assert(await guardian.locator('#register-child').count() === 0, 'a guardian registers no child');
      await openNotebook(guardian, child);
      await guardian.click('.tabs a[data-tab=members]');
      await guardian.locator('.member', { hasText: '青空 父' }).waitFor();
      await shot(guardian, '48-onboard-guardian-members', { fullPage: true });
      // A teacher may not register children: no button, and the screen says so.
      const teacher = await s.login('teacher.tanaka');
      assert(await teacher.locator('#register-child').count() === 0, 'no register button for a teacher');
    },
  },

  {
    name: '22. organizations: the admin adds one and edits it; the change shows to everyone; others edit nothing',
    async run(s, shot) {
      const admin = await s.login('admin');
      await admin.click('a[href="#/orgs"]');
      await admin.waitForSelector('#org-list .org');
      await admin.click('#org-new-open');
      const name = unique('こども食堂ひまわり');
      const form = admin.locator('.org-new form');
      await form.locator('input[name=name]').fill(name);
      await form.locator('select[name=field]').selectOption('npo');
      await form.locator('input[name=location]').fill('みどり市中央町');
      await form.locator('textarea[name=summary]').fill('毎週水曜の夕食会');
      await form.locator('input[name=contact]').fill('代表 000-000-0099');
      await form.locator('button[type=submit]').click();
      const card = admin.locator('#org-list .org', { hasText: name });
      await card.waitFor();
      await card.locator('.org-edit').click();
      const edit = card.locator('form.org-edit-form');
      await edit.waitFor();
      assert(await edit.locator('input[name=name]').inputValue() === name, 'the edit form is filled in');
      await edit.locator('input[name=name]').fill('');
      await edit.locator('button[type=submit]').click();
      await edit.locator('.form-error', { hasText: '名称' }).waitFor();
      await edit.locator('input[name=name]').fill(name);
      await edit.locator('select[name=field]').selectOption('family_association');
      await edit.locator('input[name=contact]').fill('事務局 000-000-0100（平日 10時〜16時）');
      await noHorizontalScroll(admin, 'the organization editor');
      await edit.locator('input[name=contact]').scrollIntoViewIfNeeded();
      await shot(admin, '49-orgs-edit');
      await edit.locator('button[type=submit]').click();
      await card.locator('.org-contact', { hasText: '事務局 000-000-0100' }).waitFor();
      assert((await card.textContent()).includes('家族会'), `the new field shows: ${await card.textContent()}`);
      // Another account's fresh page shows the change; it has no edit or add buttons.
      const teacher = await s.login('teacher.tanaka');
      await teacher.click('a[href="#/orgs"]');
      const theirs = teacher.locator('#org-list .org', { hasText: name });
      await theirs.waitFor();
      assert((await theirs.textContent()).includes('事務局 000-000-0100'), 'the teacher sees the new contact');
      assert(await teacher.locator('.org-edit, #org-new-open').count() === 0, 'nothing to edit for a teacher');
    },
  },

  {
    name: '23. the member list is the child\'s 相談先マップ: organization, profession and contact window, and a clean print',
    async run(s, shot) {
      const guardian = await s.login('guardian.sato');
      await openNotebook(guardian, HINATA);
      await guardian.click('.tabs a[data-tab=members]');
      const doctor = guardian.locator('.members-active .member', { hasText: '伊藤 誠' });
      await doctor.waitFor();
      assert((await doctor.locator('.member-org-name').textContent()).includes('みどり総合病院 小児科'), 'the doctor\'s organization');
      assert((await doctor.locator('.member-contact').textContent()).includes('000-000-0001'), 'its contact window');
      assert((await doctor.locator('.member-prof').textContent()).includes('医師'), 'the profession in Japanese');
      const self = guardian.locator('.members-active .member', { hasText: '佐藤 美咲' });
      assert((await self.locator('.member-org-name').textContent()).trim() === '家族', 'a guardian is family');
      assert(await self.locator('.member-contact').count() === 0, 'no contact window for family');
      await doctor.scrollIntoViewIfNeeded();
      await shot(guardian, '50-members-relymap');
      // Print: only the map, as a table (window.print is stubbed: headless has no dialog).
      await guardian.evaluate(() => { window.print = () => { window.printed = true; }; });
      await guardian.click('#relymap-print');
      assert(await guardian.evaluate(() => window.printed === true), 'the print button prints');
      const rows = guardian.locator('#relymap.print-area tbody tr');
      assert(await rows.count() >= 5, `the map lists the active members: ${await rows.count()}`);
      const first = await rows.first().innerText();
      assert(first.includes('佐藤 美咲') && first.includes('家族'), `the family first: ${first}`);
      const docRow = await rows.filter({ hasText: '伊藤 誠' }).innerText();
      assert(docRow.includes('みどり総合病院 小児科') && docRow.includes('000-000-0001'), `the doctor's row: ${docRow}`);
      await guardian.emulateMedia({ media: 'print' });
      const hidden = await guardian.evaluate(() => [...document.querySelectorAll('.member-list, .topbar, button')]
        .filter((el) => el.checkVisibility({ visibilityProperty: true })).length);
      assert(hidden === 0, `the print shows only the map: ${hidden} other things visible`);
      await shot(guardian, '51-relymap-print', { fullPage: true });
      await guardian.emulateMedia({ media: 'screen' });
    },
  },

  {
    name: '24. on a phone, tapping 既読 lists who has read the entry and when; a second tap or Escape closes it',
    async run(s, shot) {
      const guardian = await s.login('guardian.sato', { touch: true });
      const doctor = await s.login('doctor.ito');
      await openNotebook(guardian, HINATA);
      await openNotebook(doctor, HINATA);
      const text = unique('既読の確認：本日の昼食後の血糖は 140 mg/dL でした。');
      await postEntry(guardian, { category: 'medical', text });
      await doctor.locator('.timeline .entry', { hasText: text }).waitFor({ timeout: 10_000 });
      const mine = guardian.locator('.timeline .entry', { hasText: text });
      const count = mine.locator('.read-count');
      // Earlier tests change who reads medical entries of this child: count them here.
      // (The doctor's page may have read it already.)
      const total = Number(/^既読 [01]\/(\d+)$/.exec((await count.textContent()).trim())?.[1]);
      assert(total >= 2, `a new entry at 既読 0/n or 1/n: ${await count.textContent()}`);
      await eventually(async () => (await count.textContent()).trim() === `既読 1/${total}`, `既読 1/${total}`);
      const panel = mine.locator('.readers-panel');
      assert(await panel.isHidden(), 'the readers are hidden at first');
      await count.tap();
      await panel.waitFor();
      assert(await count.getAttribute('aria-expanded') === 'true', 'the button says it is open');
      const read = await panel.locator('.readers-read li').allInnerTexts();
      const unread = await panel.locator('.readers-unread li').allInnerTexts();
      assert(read.length === 1 && read[0].includes('伊藤 誠'), `read by: ${read}`);
      assert(unread.length === total - 1 && !unread.some((n) => n.includes('伊藤')), `not yet read by: ${unread}`);
      // With the time he read it (fetched when the panel opens).
      const at = panel.locator('.readers-read li', { hasText: '伊藤 誠' }).locator('time.read-at');
      await at.waitFor({ timeout: 10_000 });
      assert(/\d+時|\d{1,2}:\d{2}/.test(await at.textContent()), `a read time: ${await at.textContent()}`);
      assert(!(await panel.textContent()).includes('null'), 'nothing but names, times and words');
      await shot(guardian, '52-readers-phone');
      await count.tap();
      await panel.waitFor({ state: 'hidden' });
      // The keyboard: Enter opens, Escape closes and gives focus back.
      await count.focus();
      await guardian.keyboard.press('Enter');
      await panel.waitFor();
      await guardian.keyboard.press('Escape');
      await panel.waitFor({ state: 'hidden' });
      assert(await count.evaluate((el) => document.activeElement === el), 'focus returns to the count');
      // A tap elsewhere closes it too.
      await count.tap();
      await panel.waitFor();
      await guardian.locator('.page-title, h1').first().tap();
      await panel.waitFor({ state: 'hidden' });
    },
  },

  {
    name: '25. handover: a doctor asks, the guardian approves in one tap, the successor reads the oldest entry, the predecessor expires; a leaver\'s three notebooks handed over at once',
    // One overlap day lasts 2 s on this test's own server.
    serverArgs: ['--overlap-day-secs', '2'],
    async run(s, shot) {
      const guardian = await s.login('guardian.sato');
      await guardian.waitForSelector('.child-card');
      // The demo's own pending handover (the class teacher's) waits for her.
      const demoItem = guardian.locator('#handovers-pending .handover', { hasText: '木村 優子' });
      await demoItem.waitFor();
      assert((await demoItem.textContent()).includes('田中 翔'), 'from the class teacher');
      assert(await guardian.locator('.child-card', { hasText: HINATA }).locator('.badge-requests').count() === 1,
        'the child card carries a badge');

      // Dr Ito hands Hinata over to Dr Mori from the member list.
      const ito = await s.login('doctor.ito');
      await openNotebook(ito, HINATA);
      const oldestSeq = Math.min(...(await ito.locator('.timeline .entry').evaluateAll(
        (els) => els.map((e) => Number(e.dataset.seq)))));
      await ito.click('.tabs a[data-tab=members]');
      const form = ito.locator('#handover-form');
      await form.waitFor();
      await form.locator('input[name=successor]').fill('森');
      await form.locator('.search-successor').click();
      await form.locator('.choose-successor').first().click();
      await form.locator('input[name=overlap_days]').fill('1');
      await form.locator('textarea[name=note]').fill('インスリンの調整は 10 月の記録を参照してください。');
      await shot(ito, '53-handover-form');
      await form.locator('#handover-submit').click();
      await ito.locator('#handovers .handover-requested', { hasText: '森 健一' }).waitFor();

      // Live on the guardian's open page; one tap approves it.
      const item = guardian.locator('#handovers-pending .handover', { hasText: '森 健一' });
      await item.waitFor({ timeout: 10_000 });
      assert((await item.textContent()).includes('10 月の記録'), 'the note is shown');
      await shot(guardian, '54-handover-pending');
      await item.locator('.approve-handover').click();
      await eventually(async () => (await item.count()) === 0, 'the approved handover leaves the list');

      // The successor reads the whole notebook, the oldest entry included.
      const mori = await s.login('doctor.mori');
      await openNotebook(mori, HINATA);
      await mori.locator(`.timeline .entry[data-seq="${oldestSeq}"]`).waitFor({ timeout: 10_000 });
      await mori.locator('.timeline .entry', { hasText: '引継ぎ' }).first().waitFor();
      await shot(mori, '55-handover-successor');
      // The predecessor is expired after the overlap (1 day of 2 s).
      await ito.goto(ito.url().replace(/#.*$/, '#/'));
      await eventually(async () => {
        await ito.reload();
        await ito.waitForSelector('.child-card, .children-empty');
        return (await ito.locator('.child-card', { hasText: HINATA }).count()) === 0;
      }, 'Hinata leaves Dr Ito\'s list', 15_000);

      // Dr Ito leaves the hospital: the admin sees his three remaining
      // notebooks and hands them all to the school nurse before disabling.
      const admin = await s.login('admin');
      await admin.click('#nav-accounts');
      const row = admin.locator('#account-list .account[data-login="doctor.ito"]');
      await row.waitFor();
      await row.locator('.disable-btn').click();
      const panel = admin.locator('dialog[open] #leaver-panel');
      await panel.waitFor();
      assert((await panel.locator('.leaver-status').textContent()).includes('3 件'), 'three notebooks held');
      await panel.locator('input[name=successor]').fill('小川');
      await panel.locator('.search-successor').click();
      await panel.locator('.choose-successor').first().click();
      await panel.locator('#leaver-handover-submit').click();
      await eventually(async () => (await panel.locator('.leaver-status').textContent()).includes('引継ぎ依頼中 3 件'),
        'three handovers requested');
      await shot(admin, '56-leaver-handovers');
      await admin.locator('dialog[open] button.danger').click();
      await eventually(async () => (await row.getAttribute('data-status')) === 'disabled', 'Dr Ito disabled');

      // Each guardian approves their own child's.
      for (const login of ['guardian.takahashi', 'guardian.watanabe', 'guardian.nakamura']) {
        const g = await s.login(login);
        const mine = g.locator('#handovers-pending .handover', { hasText: '小川 真理' });
        await mine.waitFor({ timeout: 10_000 });
        assert(await mine.count() === 1, `${login} approves one`);
        await mine.locator('.approve-handover').click();
        await eventually(async () => (await mine.count()) === 0, `${login}'s handover approved`);
      }
      const ogawa = await s.login('schoolnurse.ogawa');
      await eventually(async () => (await ogawa.locator('.child-card').count()) === 4, 'the school nurse has four notebooks');
      // Expected: Dr Ito's disabled session answers 401.
      s.consoleErrors = s.consoleErrors.filter((e) => !/status of 401/.test(e));
    },
  },

  {
    name: '26. attachments: a photo and a PDF attached from the compose form, thumbnails drawn by the browser, the doctor views and downloads, a wrong type refused',
    async run(s, shot) {
      const guardian = await s.login('guardian.sato');
      await openNotebook(guardian, HINATA);
      await guardian.click('#compose-open');
      await guardian.selectOption('form.compose select[name=category]', 'medical');
      const text = unique('受診時の写真と紹介状です。');
      await guardian.fill('form.compose textarea[name=text]', text);
      // The camera control is there for phones (capture), beside the file picker.
      assert(await guardian.locator('#attach-camera').getAttribute('capture') === 'environment', 'a camera control');
      await guardian.setInputFiles('#attach-file', [
        { name: 'photo.png', mimeType: 'image/png', buffer: png(120, 90, [46, 125, 50]) },
        { name: '紹介状.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n%%EOF\n') },
      ]);
      await eventually(async () => (await guardian.locator('form.compose .attach-item.done').count()) === 2,
        'both files uploaded before posting');
      // A type the server refuses: a clear message, the others stay.
      await guardian.setInputFiles('#attach-file', [
        { name: 'anim.gif', mimeType: 'image/gif', buffer: Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'binary') },
      ]);
      const failed = guardian.locator('form.compose .attach-item.failed');
      await failed.waitFor();
      assert((await failed.textContent()).includes('この形式は添付できません'), 'the wrong type is named');
      await failed.locator('.attach-remove').click();
      const localThumb = guardian.locator('form.compose .attach-item.done img.attach-thumb');
      await eventually(async () => (await localThumb.evaluate((img) => img.naturalWidth)) === 120,
        'the compose thumbnail is drawn from the local file');
      await shot(guardian, '57-attach-compose');
      await guardian.click('form.compose button[type=submit]');
      const entry = guardian.locator('.timeline .entry', { hasText: text });
      await entry.waitFor();
      await eventually(async () => (await entry.locator('.attachment').count()) === 2, 'two attachments on the entry');
      await entry.locator('.attachment .attach-icon', { hasText: 'PDF' }).waitFor();
      await shot(guardian, '58-attach-entry');

      // The doctor (medical) sees the photo drawn, opens and downloads it.
      const doctor = await s.login('doctor.ito');
      await openNotebook(doctor, HINATA);
      const theirs = doctor.locator('.timeline .entry', { hasText: text });
      await theirs.waitFor({ timeout: 10_000 });
      const img = theirs.locator('.attachment img.attach-thumb');
      await img.waitFor();
      await eventually(async () => (await img.evaluate((el) => el.naturalWidth)) === 120, 'the thumbnail is drawn');
      assert((await theirs.locator('.attachment-view').first().getAttribute('href')).startsWith('blob:'),
        'viewed from a blob the page fetched with its token');
      const [download] = await Promise.all([
        doctor.waitForEvent('download'),
        theirs.locator('.attachment-download').first().click(),
      ]);
      assert(/\.png$/.test(download.suggestedFilename()), `downloaded as ${download.suggestedFilename()}`);
      await shot(doctor, '59-attach-doctor');
      // Expected: the refused upload's 415.
      s.consoleErrors = s.consoleErrors.filter((e) => !/status of 415/.test(e));
    },
  },
  {
    name: '27. export: the guardian downloads the printable HTML (Chromium prints it to PDF with the name and card text) and an age file the stock age opens; the youth is offered it, a teacher is not',
    async run(s, shot) {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'renraku-export-'));
      try {
        const guardian = await s.login('guardian.sato');
        await openNotebook(guardian, HINATA);
        await guardian.click('.tabs a[data-tab=card]');
        const summary = (await guardian.locator('.card-summary').textContent()).trim();
        assert(summary.length > 5, 'the card has a summary');
        await guardian.click('.tabs a[data-tab=export]');
        await guardian.locator('#export-form').waitFor();
        await shot(guardian, '60-export-form');

        // The printable HTML: downloaded, then printed to PDF by Chromium.
        await guardian.check('input[name=format][value=html]');
        assert(await guardian.locator('#export-protect').isHidden(), 'no encryption choice for HTML');
        assert(await guardian.locator('#export-plain-note').isVisible(), 'HTML is said to be unencrypted');
        const [htmlDl] = await Promise.all([guardian.waitForEvent('download'), guardian.click('#export-submit')]);
        assert(htmlDl.suggestedFilename() === 'renraku-export.html', htmlDl.suggestedFilename());
        const html = fs.readFileSync(await htmlDl.path(), 'utf8');
        assert(html.includes('@page { size: A4'), 'A4 print styles');
        const ctx = await s.browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
        s.contexts.push(ctx);
        const doc = await ctx.newPage();
        const fetched = [];
        doc.on('request', (r) => fetched.push(r.url()));
        await doc.setContent(html, { waitUntil: 'load' });
        assert(fetched.length === 0, `the document loads nothing: ${fetched.join(', ')}`);
        await shot(doc, '61-export-html');
        const pdfPath = path.join(tmp, 'notebook.pdf');
        await doc.pdf({ path: pdfPath, preferCSSPageSize: true, printBackground: true });
        assert(fs.readFileSync(pdfPath).subarray(0, 5).toString() === '%PDF-', 'a PDF');
        const pdf = spawnSync('pdftotext', ['-enc', 'UTF-8', pdfPath, '-'], { encoding: 'utf8' });
        assert(pdf.status === 0, `pdftotext (poppler-utils): ${pdf.error || pdf.stderr}`);
        const text = pdf.stdout.replace(/\s+/g, '');
        assert(text.includes(HINATA.replace(/\s+/g, '')), 'the child\'s name is in the PDF');
        assert(text.includes(summary.replace(/\s+/g, '')), 'the card text is in the PDF');
        assert(text.indexOf('緊急カード') < text.indexOf('記録Entries'), 'the card comes first');

        // The age file, to a passphrase: the stock age opens it.
        await guardian.check('input[name=format][value=age]');
        await guardian.check('input[name=by][value=passphrase]');
        const passphrase = `${unique('合言葉')} ひなた`;
        await guardian.fill('input[name=passphrase]', passphrase);
        await shot(guardian, '62-export-age');
        const [ageDl] = await Promise.all([guardian.waitForEvent('download'), guardian.click('#export-submit')]);
        assert(ageDl.suggestedFilename().endsWith('.age'), ageDl.suggestedFilename());
        const agePath = path.join(tmp, 'notebook.tar.age');
        await ageDl.saveAs(agePath);
        assert(fs.readFileSync(agePath).subarray(0, 21).toString() === 'age-encryption.org/v1', 'an age file');
        const tarPath = path.join(tmp, 'notebook.tar');
        const script = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../age_passphrase.py');
        const dec = spawnSync('python3', [script, agePath, tarPath], { env: { ...process.env, AGE_TEST_PASSPHRASE: passphrase } });
        assert(dec.status === 0, `age -d: ${dec.stdout}`);
        const list = spawnSync('tar', ['-tf', tarPath], { encoding: 'utf8' }).stdout.split('\n');
        for (const n of ['bundle.json', 'notebook.html', 'attachments/']) assert(list.includes(n), `${n} in ${list}`);
        await guardian.locator('.toast', { hasText: 'エクスポートしました' }).waitFor();

        // Both are in the access log.
        await guardian.click('.tabs a[data-tab=log]');
        await eventually(async () => (await guardian.locator('tr.action-export').count()) >= 2, 'two exports logged');
        assert((await guardian.locator('tr.action-export').first().textContent()).includes('書き出し'), 'in Japanese');

        // A teacher is not offered it; the youth is (before the transfer, what the youth sees).
        const teacher = await s.login('teacher.tanaka');
        await openNotebook(teacher, HINATA);
        assert(await teacher.locator('.tabs a[data-tab=export]').count() === 0, 'no export for a member');
        const youth = await s.login('youth.watanabe');
        await openNotebook(youth, '渡辺 蓮');
        await youth.click('.tabs a[data-tab=export]');
        await youth.locator('#export-form').waitFor();
        await shot(youth, '63-export-youth');
        const before = await youth.locator('#export-youth-note').count() === 1;
        const gw = await s.login('guardian.watanabe');
        await openNotebook(gw, '渡辺 蓮');
        assert(await gw.locator('.tabs a[data-tab=export]').count() === (before ? 1 : 0),
          'the guardian is offered it exactly while holding consent');
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
  },
  {
    name: '28. the end of a record: a guardian closes a notebook (read-only) and another asks for an erasure; the admin confirms it, and the child is gone',
    // Erasure destroys a demo child: a server of this test's own, where
    // every closed notebook is past retention at once.
    serverArgs: ['--retention-years', '0'],
    async run(s, shot) {
      // Mr Takahashi closes Souta's notebook when support ends.
      const takahashi = await s.login('guardian.takahashi');
      await openNotebook(takahashi, SOUTA);
      await takahashi.click('.tabs a[data-tab=members]');
      await takahashi.locator('#record-end #close-btn').click();
      await takahashi.locator('dialog[open] button.primary').click();
      await takahashi.locator('#record-end .closed-note').waitFor();
      await takahashi.click('.tabs a[data-tab=timeline]');
      const banner = takahashi.locator('#closed-banner');
      await banner.waitFor();
      assert((await banner.textContent()).includes('閲覧のみ'), `the banner says read-only: ${await banner.textContent()}`);
      assert(await takahashi.locator('#compose-open').count() === 0, 'no composer in a closed notebook');
      await takahashi.locator('.timeline .entry').first().waitFor();
      await shot(takahashi, '65-closed-notebook');
      await takahashi.goto(takahashi.url().replace(/#.*$/, '#/'));
      await takahashi.locator('.child-card', { hasText: SOUTA }).locator('.badge-closed').waitFor();

      // Ms Nakamura asks for Yui's record to be erased.
      const nakamura = await s.login('guardian.nakamura', { touch: true });
      await openNotebook(nakamura, '中村 ゆい');
      await nakamura.click('.tabs a[data-tab=members]');
      await nakamura.locator('#record-end #erase-btn').tap();
      const ask = nakamura.locator('dialog[open]');
      assert((await ask.textContent()).includes('元に戻せません'), 'the dialog says it cannot be undone');
      await shot(nakamura, '66-erase-request');
      await ask.locator('button.danger').tap();
      await nakamura.locator('#toast', { hasText: '消去を依頼しました' }).waitFor();

      // The admin sees the request and the closed notebook past retention.
      const admin = await s.login('admin');
      await admin.click('#nav-records');
      const request = admin.locator('#erase-requests .erase-request');
      await request.waitFor();
      assert(await request.count() === 1, 'one request');
      assert((await request.textContent()).includes('中村 麻衣'), `asked by her: ${await request.textContent()}`);
      assert(!(await admin.locator('main').textContent()).includes('ゆい'), 'no child name on the admin screen');
      const due = admin.locator('#retention-due .retention-due');
      await due.waitFor();
      assert(await due.count() === 1, 'Souta\'s closed notebook is past retention');
      await shot(admin, '67-records-admin', { fullPage: true });
      await request.locator('.confirm-erase').click();
      await admin.locator('dialog[open] button.danger').click();
      await admin.locator('#erase-requests .empty').waitFor();
      // Souta's is reopened instead: support resumed.
      await due.locator('.reopen').click();
      await admin.locator('#retention-due .empty').waitFor();

      // Yui is gone from her mother's list; Souta's notebook takes posts again.
      await nakamura.goto(nakamura.url().replace(/#.*$/, '#/'));
      await eventually(async () => {
        await nakamura.reload();
        await nakamura.waitForSelector('.child-card, .children-empty');
        return (await nakamura.locator('.child-card', { hasText: 'ゆい' }).count()) === 0;
      }, 'Yui leaves her mother\'s list');
      await shot(nakamura, '68-after-erasure');
      await takahashi.reload();
      await openNotebook(takahashi, SOUTA);
      await postEntry(takahashi, { category: 'family', text: unique('支援を再開しました。') });
    },
  },
  {
    name: '29. the emergency card prints alone on A6 and A4, and, when the user opts in, stays readable offline until logout or the end of the membership',
    // Revokes a demo membership: a server of this test's own.
    serverArgs: [],
    async run(s, shot) {
      const guardian = await s.login('guardian.sato');
      await openNotebook(guardian, HINATA);
      await guardian.click('.tabs a[data-tab=card]');
      await guardian.locator('.card-summary').waitFor();
      const summary = (await guardian.locator('.card-summary').first().textContent()).trim();
      assert(summary.length > 5, 'the demo card has a summary');
      // Print: only the card, on the paper size asked for.
      await guardian.evaluate(() => { window.print = () => {}; });
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'renraku-card-'));
      try {
        for (const [size, w, hgt] of [['a6', 297.6, 419.5], ['a4', 595.3, 841.9]]) {
          await guardian.click(`#card-print-${size}`);
          await guardian.locator('.card-print.print-area').waitFor({ state: 'attached' });
          const file = path.join(tmp, `${size}.pdf`);
          await guardian.pdf({ path: file, preferCSSPageSize: true });
          const bytes = fs.readFileSync(file).toString('latin1');
          const box = /MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/.exec(bytes);
          assert(box && Math.abs(Number(box[1]) - w) < 2 && Math.abs(Number(box[2]) - hgt) < 2,
            `${size}: page ${box?.[1]} × ${box?.[2]} pt`);
          const text = spawnSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
          assert(text.status === 0, `pdftotext: ${text.error || text.stderr}`);
          const flat = text.stdout.replace(/\s+/g, '');
          assert(flat.includes(HINATA.replace(/\s+/g, '')), `${size}: the child's name is printed`);
          assert(flat.includes(summary.replace(/\s+/g, '').slice(0, 12)), `${size}: the card is printed`);
          assert(!flat.includes('アクセス記録'), `${size}: the card alone, not the page around it`);
          await guardian.evaluate(() => window.dispatchEvent(new Event('afterprint')));
          await eventually(async () => (await guardian.locator('.card-print').count()) === 0, 'the sheet leaves after printing');
        }
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }

      // Nothing is kept until she opts in.
      const childId = /#\/child\/([\w-]+)/.exec(guardian.url())[1];
      const kept = (page) => page.evaluate(async (id) => Boolean(await caches.match(`/offline/card/${id}`)), childId);
      assert(!(await kept(guardian)), 'no card on the device before opting in');
      await guardian.evaluate(() => navigator.serviceWorker.ready);
      await guardian.locator('#offline-card-toggle').check();
      await guardian.locator('#offline-card-link').waitFor();
      assert(await kept(guardian), 'the card is kept after opting in');
      await guardian.locator('#offline-card').scrollIntoViewIfNeeded();
      await shot(guardian, '69-card-offline-optin');

      // The network goes: the kept card still opens.
      const ctx = guardian.context();
      await ctx.setOffline(true);
      const off = await ctx.newPage();
      await off.goto(`${s.origin}/offline/card/${childId}`);
      await off.locator('.offline-card').waitFor();
      const page = (await off.textContent('body')).replace(/\s+/g, '');
      assert(page.includes(HINATA.replace(/\s+/g, '')) && page.includes(summary.replace(/\s+/g, '').slice(0, 12)),
        'the offline card shows the child and the card');
      await shot(off, '70-card-offline');
      await off.close();
      await ctx.setOffline(false);

      // Dr Ito keeps one too; when the guardian revokes him, it goes at once.
      const ito = await s.login('doctor.ito');
      await openNotebook(ito, HINATA);
      await ito.click('.tabs a[data-tab=card]');
      await ito.evaluate(() => navigator.serviceWorker.ready);
      await ito.locator('#offline-card-toggle').check();
      await ito.locator('#offline-card-link').waitFor();
      assert(await kept(ito), 'Dr Ito keeps a copy');
      await guardian.click('.tabs a[data-tab=members]');
      const row = guardian.locator('.member', { hasText: '伊藤 誠' });
      await row.locator('.revoke-btn').click();
      await guardian.locator('dialog[open] button.danger').click();
      await eventually(async () => !(await kept(ito)), 'the copy leaves with the membership');

      // A logout removes hers.
      await guardian.click('#logout');
      await guardian.waitForSelector('input[name=username]');
      await eventually(async () => !(await kept(guardian)), 'logout removes the kept card');
    },
  },
  {
    name: '30. a meeting note filed under several categories: the coordinator files it for the teacher and the doctor; the doctor sees it live with both chips, the welfare worker never',
    async run(s, shot) {
      const yamada = await s.login('coordinator.yamada', { touch: true });
      const ito = await s.login('doctor.ito');
      const hayashi = await s.login('welfare.hayashi');
      await openNotebook(ito, SOUTA);
      await openNotebook(hayashi, SOUTA);
      await openNotebook(yamada, SOUTA);
      const text = unique('支援会議：吸引の手順と登校時の連絡方法を確認しました。');
      await yamada.click('#compose-open');
      await yamada.selectOption('form.compose select[name=category]', 'education');
      const more = yamada.locator('form.compose .more-categories');
      assert(!(await more.locator('input[value=education]').count()), 'the first category is not offered twice');
      await more.locator('input[value=medical]').check();
      await yamada.fill('form.compose textarea[name=text]', text);
      await shot(yamada, '71-multi-category-compose');
      await yamada.click('form.compose button[type=submit]');
      const mine = yamada.locator('.timeline .entry', { hasText: text });
      await mine.waitFor();
      assert((await mine.getAttribute('data-categories')) === 'education medical', await mine.getAttribute('data-categories'));
      assert(await mine.locator('.entry-head .chip').count() === 2, 'two category chips');
      // Live at the doctor's, with both chips; the filter finds it under either.
      const his = ito.locator('.timeline .entry', { hasText: text });
      await his.waitFor({ timeout: 10_000 });
      assert(await his.locator('.entry-head .chip').count() === 2, 'both chips at the doctor');
      await shot(ito, '72-multi-category-entry');
      if (await ito.locator('#timeline-filter').isVisible()) {
        await ito.selectOption('#timeline-filter', 'medical');
        assert(!(await his.isHidden()), 'shown under medical');
      }
      // Never at the welfare worker's (no category of it is hers).
      await hayashi.reload();
      await hayashi.waitForSelector('.timeline .entry, .timeline-status .empty');
      assert(await hayashi.locator('.timeline .entry', { hasText: text }).count() === 0, 'not for welfare');
    },
  },
  {
    name: '31. a question to a person: the mother asks Dr Ito; it reaches his inbox with a badge, he replies in the thread from his phone, and the question closes on her open page; he sets his notifications',
    async run(s, shot) {
      const sato = await s.login('guardian.sato', { touch: true });
      const ito = await s.login('doctor.ito', { touch: true });
      const badge = async () => Number(await ito.locator('#inbox-badge').getAttribute('data-count'));
      await ito.waitForSelector('#inbox-badge[data-count]', { state: 'attached' });
      const before = await badge();
      await openNotebook(sato, HINATA);
      const text = unique('伊藤先生、今朝の血糖が高めでした。朝の注射の単位を見直した方がよいでしょうか。');
      await sato.click('#compose-open');
      await sato.selectOption('form.compose select[name=category]', 'medical');
      const toBox = sato.locator('form.compose #compose-to');
      const needs = toBox.locator('input[name=needs_reply]');
      assert(await needs.isDisabled(), 'no question without an addressee');
      // Only members who can see a medical entry are offered: not the class teacher.
      assert(!(await toBox.locator('label', { hasText: '田中 翔' }).count()), 'the teacher has no medical');
      await toBox.locator('label', { hasText: '伊藤 誠' }).locator('input').check();
      await needs.check();
      await sato.fill('form.compose textarea[name=text]', text);
      await shot(sato, '73-question-compose');
      await sato.click('form.compose button[type=submit]');
      const question = sato.locator('.timeline > li.entry', { hasText: text });
      await question.waitFor();
      assert((await question.locator('.q-state').getAttribute('data-state')) === 'open', 'open');
      assert((await question.locator('.to-names').textContent()).includes('伊藤 誠'), 'addressed to Dr Ito');

      // His badge counts it without a reload (the inbox frame); the inbox lists it.
      await eventually(async () => (await badge()) === before + 1, 'the inbox badge');
      await ito.click('#nav-inbox');
      const item = ito.locator('.inbox-item', { hasText: text });
      await item.waitFor();
      await shot(ito, '74-inbox');
      await item.locator('.inbox-open').click();
      const his = ito.locator('.timeline > li.entry', { hasText: text });
      await his.waitFor();
      await his.locator('.reply-btn').click();
      const form = ito.locator('form.compose');
      assert((await form.locator('#compose-title').textContent()).includes('返信'), 'a reply form');
      assert(await form.locator('#compose-to label', { hasText: '佐藤 美咲' }).locator('input').isChecked(),
        'the reply goes to the asker');
      const answer = unique('朝の単位はそのままで、3日間の記録を見てから決めましょう。');
      await ito.fill('form.compose textarea[name=text]', answer);
      await ito.click('form.compose button[type=submit]');
      await his.locator('.thread-list > li.entry', { hasText: answer }).waitFor();

      // On her open page: the reply in the thread, and the question answered.
      await question.locator('.thread-list > li.entry', { hasText: answer }).waitFor({ timeout: 10_000 });
      await eventually(async () => (await question.locator('.q-state').getAttribute('data-state')) === 'answered',
        'answered on her page');
      assert(!(await question.locator('.done-btn').count()), 'nothing left to mark done');
      await shot(sato, '75-question-answered-thread');
      const replyId = await question.locator('.thread-list > li.entry', { hasText: answer }).getAttribute('data-id');
      assert(await sato.locator(`.timeline > li.entry[data-id="${replyId}"]`).count() === 0, 'the reply is in the thread only');
      // Out of his inbox.
      await ito.click('#nav-inbox');
      await ito.waitForSelector('.inbox-list, .inbox-empty');
      assert(await ito.locator('.inbox-item', { hasText: text }).count() === 0, 'no longer in the inbox');
      await eventually(async () => (await badge()) === before, 'the badge goes down');
      await noHorizontalScroll(ito, 'inbox');
      // His notification settings for this notebook: only what is addressed to him, quiet at night.
      await ito.goBack();
      await ito.click('#notify-open');
      const dlg = ito.locator('dialog.notify-dialog');
      await dlg.locator('input[name=level][value=addressed]').check();
      await dlg.locator('input[name=quiet]').check();
      await dlg.locator('input[name=quiet_from]').fill('22:00');
      await dlg.locator('input[name=quiet_to]').fill('06:30');
      await shot(ito, '76-notify-settings');
      await dlg.locator('button[type=submit]').click();
      await dlg.waitFor({ state: 'detached' });
      await ito.click('#notify-open');
      assert(await dlg.locator('input[name=level][value=addressed]').isChecked(), 'kept: addressed');
      assert(await dlg.locator('input[name=quiet_from]').inputValue() === '22:00', 'kept: quiet from');
      await dlg.locator('button', { hasText: 'キャンセル' }).click();
    },
  },
  {
    name: '32. appointments and the calendar: the mother files a hospital appointment from the compose form; the month lists it, and the support plan review two months on',
    async run(s, shot) {
      const sato = await s.login('guardian.sato', { touch: true });
      await openNotebook(sato, HINATA);
      await sato.click('#compose-open');
      await sato.selectOption('form.compose select[name=category]', 'medical');
      await sato.selectOption('form.compose select[name=kind]', 'appointment');
      const today = await sato.locator('form.compose input[name=date]').inputValue();
      assert(/^\d{4}-\d{2}-\d{2}$/.test(today), `a date is offered: ${today}`);
      await sato.fill('form.compose input[name=time]', '10:30');
      const place = unique('みどり総合病院 小児科');
      await sato.fill('form.compose input[name=place]', place);
      await sato.fill('form.compose input[name=with]', '伊藤先生');
      await shot(sato, '77-appointment-compose');
      await sato.click('form.compose button[type=submit]');
      const appt = sato.locator('.timeline > li.entry', { hasText: place });
      await appt.waitFor();
      assert((await appt.getAttribute('data-kind')) === 'appointment', 'an appointment');
      await sato.click('#nav-calendar');
      const item = sato.locator('.cal-item', { hasText: place });
      await item.waitFor();
      assert((await item.getAttribute('data-date')) === today, 'on its date');
      assert((await item.textContent()).includes('10:30 伊藤先生'), await item.textContent());
      await shot(sato, '78-calendar');
      await noHorizontalScroll(sato, 'calendar');
      // The demo's support plan is reviewed on 2027-02-26.
      for (let i = 0; i < 24; i += 1) {
        if ((await sato.locator('#cal-month').getAttribute('data-month')) === '2027-02') break;
        await sato.click('#cal-next');
        await sato.waitForSelector('.cal-item, .calendar-empty');
      }
      const review = sato.locator('.cal-item[data-kind=plan_review][data-date="2027-02-26"]');
      await review.waitFor();
      await review.locator('.cal-child').click();
      await sato.waitForSelector('.timeline .entry.fresh');
      assert(await sato.locator('.timeline .entry.fresh').getAttribute('data-kind') === 'plan', 'opens the plan');
    },
  },
  {
    name: '33. the demo opens in a browser over plain HTTP on localhost: no certificate to accept, the service worker registers, the app is installable, live entries arrive',
    serverArgs: ['--demo-http', '127.0.0.1:0'],
    demoHttp: true,
    async run(s, shot) {
      assert(s.base.startsWith('http://localhost:'), `the printed browser URL: ${s.base}`);
      // A browser of its own, without --ignore-certificate-errors (nothing
      // to click through on plain HTTP), with a real profile: Chromium
      // calls no incognito window installable.
      const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'renraku-profile-'));
      const ctx = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM, headless: true, viewport: PHONE, locale: 'ja-JP', timezoneId: 'Asia/Tokyo',
        serviceWorkers: 'allow',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
      try {
        const page = await ctx.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(e.message));
        page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
        await page.goto(`${s.base}/`);
        await page.waitForSelector('#page-title');
        await loginOn(page, 'guardian.sato');
        const sw = await page.evaluate(async () => {
          const reg = await Promise.race([navigator.serviceWorker.ready, new Promise((r) => setTimeout(() => r(null), 10_000))]);
          return { secure: window.isSecureContext, active: Boolean(reg?.active), scope: reg?.scope };
        });
        assert(sw.secure, 'localhost over HTTP is a secure context');
        assert(sw.active && sw.scope === `${s.base}/`, `the service worker registers: ${JSON.stringify(sw)}`);
        // Installable: Chromium's own check (manifest, icons, service worker).
        const cdp = await ctx.newCDPSession(page);
        const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
        assert(installabilityErrors.length === 0, `installable: ${JSON.stringify(installabilityErrors)}`);
        const manifest = await cdp.send('Page.getAppManifest');
        assert(manifest.url === `${s.base}/manifest.webmanifest` && manifest.errors.length === 0,
          `the manifest parses: ${JSON.stringify(manifest.errors)}`);
        // The notebook, and a live entry over ws://localhost from another member.
        await openNotebook(page, HINATA);
        const text = unique('HTTPでも届く連絡');
        // (Node speaks to 127.0.0.1: the listener is IPv4 loopback.)
        const api = s.base.replace('//localhost:', '//127.0.0.1:');
        const login = await fetch(`${api}/api/v1/auth/login`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ login: 'coordinator.yamada', password: 'renraku-demo' }),
        });
        const token = (await login.json()).access_token;
        const children = await (await fetch(`${api}/api/v1/children`, { headers: { authorization: `Bearer ${token}` } })).json();
        const hinata = children.find((c) => c.name === HINATA);
        const r = await fetch(`${api}/api/v1/children/${hinata.id}/entries`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ client_id: crypto.randomUUID(), category: 'education', kind: 'note', body: { text } }),
        });
        assert(r.status === 201, `posted: ${r.status}`);
        await page.locator('.timeline > li.entry', { hasText: text }).waitFor();
        await shot(page, '79-demo-http-live');
        assert(errors.length === 0, `console errors: ${errors.join('; ')}`);
      } finally {
        await ctx.close();
        fs.rmSync(profile, { recursive: true, force: true });
      }
    },
  },
];
