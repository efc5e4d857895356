#!/usr/bin/env node
// Runs the browser tests against the real server: starts `renraku demo` on
// an ephemeral port (binary from RENRAKU_BIN, default ../../target/debug/renraku;
// this script builds nothing), drives headless Debian chromium through
// playwright-core, prints a summary, exits non-zero on any failure.
//
//   cd tests/browser && npm ci && node run.mjs [name filter]
//
// Screenshots go to RENRAKU_ARTIFACTS (default <repo>/test-artifacts/screenshots).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureChromium, startServer, launchBrowser, Session } from './lib.mjs';
import { tests } from './tests.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, process.env.RENRAKU_BIN || '../../target/debug/renraku');
const artifacts = path.resolve(here, process.env.RENRAKU_ARTIFACTS || '../../test-artifacts/screenshots');
const filter = process.argv[2];
const TEST_TIMEOUT_MS = 120_000;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

async function main() {
  ensureChromium();
  fs.mkdirSync(artifacts, { recursive: true });
  for (const f of fs.readdirSync(artifacts)) if (f.endsWith('.png')) fs.rmSync(path.join(artifacts, f));

  const selected = tests.filter((t) => !filter || t.name.includes(filter));
  const results = [];
  let server;
  let browser;
  const started = Date.now();
  try {
    server = await startServer(bin);
    console.log(`server: ${server.url} (${path.relative(process.cwd(), bin) || bin})`);
    browser = await launchBrowser();
    console.log(`browser: chromium ${browser.version()}\n`);
    for (const test of selected) {
      let own = null;
      const s = new Session(browser, server.url);
      const shot = async (page, name, opts = {}) => {
        await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: Boolean(opts.fullPage) });
      };
      const listArtifacts = async () => fs.readdirSync(artifacts);
      const t0 = Date.now();
      try {
        // A test may need a server of its own, started with extra flags
        // (one that fails to start fails that test only).
        if (test.serverArgs) {
          own = await startServer(bin, test.serverArgs);
          s.setBase(test.demoHttp ? own.httpUrl : own.url);
        }
        await withTimeout(test.run(s, shot, listArtifacts), TEST_TIMEOUT_MS, test.name);
        const foreign = s.foreignRequests();
        if (foreign.length) throw new Error(`requests to other hosts: ${foreign.map((r) => r.url).join(', ')}`);
        results.push({ name: test.name, ok: true, ms: Date.now() - t0, warnings: s.consoleErrors });
        console.log(`  ok    ${test.name} (${Date.now() - t0} ms)`);
      } catch (e) {
        results.push({ name: test.name, ok: false, ms: Date.now() - t0, error: e, warnings: s.consoleErrors });
        console.log(`  FAIL  ${test.name} (${Date.now() - t0} ms)\n        ${String(e.message).split('\n').join('\n        ')}`);
        for (const [i, ctx] of s.contexts.entries()) {
          for (const [j, page] of ctx.pages().entries()) {
            await page.screenshot({ path: path.join(artifacts, `FAILED-${test.name.slice(0, 2).replace(/\W/g, '')}-${i}-${j}.png`) })
              .catch(() => {});
          }
        }
      } finally {
        await s.close();
        if (own) await own.stop().catch(() => {});
      }
    }
  } catch (e) {
    console.error(`\nsetup failed: ${e.message}`);
    process.exitCode = 1;
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop().catch(() => {});
  }

  const failed = results.filter((r) => !r.ok);
  console.log(`\n${results.length - failed.length} passed, ${failed.length} failed, ${selected.length - results.length} not run`
    + ` (${((Date.now() - started) / 1000).toFixed(1)} s); screenshots in ${path.relative(process.cwd(), artifacts)}`);
  for (const r of results) {
    if (r.warnings?.length && r.ok) {
      console.log(`  note: console errors during "${r.name}":\n    ${r.warnings.join('\n    ')}`);
    }
  }
  for (const r of failed) console.log(`\nFAILED: ${r.name}\n${r.error?.stack || r.error}`);
  if (failed.length || results.length !== selected.length || selected.length === 0) process.exitCode = 1;
}

main();
