// The second factor in Chromium as a new operator meets it: sent to set it up at the first
// sign-in, the QR code and the typed key, the recovery codes shown once, then signing in with
// the app's code and with a recovery code; no serious accessibility violations on its pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { launchChromium } from './chromium.mjs';
import { codeAt, nextCode, setUp } from './second-factor.mjs';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const base = process.env.PORTAL_URL;
const email = 'operator2@installer.example.jp';
const password = 'second operator 123';
let browser;

before(async () => {
  assert.ok(base, 'PORTAL_URL is set by scripts/browser-tests.sh');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

async function axe(page, what) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${what}: ${v.id} (${v.impact}) ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')}`);
}

async function passwordStep(page) {
  await page.goto(`${base}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
  await page.waitForLoadState();
}

test('a new operator sets up the second factor, then signs in with a code and with a recovery code', async () => {
  const problems = [];
  const context = await browser.newContext({ locale: 'ja-JP', bypassCSP: true });
  const page = await context.newPage();
  await passwordStep(page);
  // Nothing else until it is set up: the users page sends them to the set-up.
  await page.goto(`${base}/users`);
  assert.match(page.url(), /\/account\/mfa\?next=%2Fusers$/);
  assert.ok(await page.isVisible('#mfa-required'));
  assert.ok(await page.isVisible('.qr svg'), 'the QR code is shown');
  problems.push(...await axe(page, '/account/mfa set-up'));
  // A wrong code is refused with the reason next to the field.
  const secret = (await page.textContent('#totp-secret')).trim();
  const now = Math.floor(Date.now() / 1000 / 30);
  const near = [now - 1, now, now + 1].map((s) => codeAt(secret, s));
  await page.fill('#code', ['000000', '111111', '222222'].find((c) => !near.includes(c)));
  await page.click('#mfa-enable');
  await page.waitForSelector('#mfa-error');
  assert.equal(await page.getAttribute('#code', 'aria-invalid'), 'true');
  const recovery = await setUp(page, email);
  assert.equal(recovery.length, 10);
  problems.push(...await axe(page, 'recovery codes'));
  await page.click('#mfa-continue');
  await page.waitForURL(/\/users$/);

  // Signing in again: the password, then the app's code.
  const second = await (await browser.newContext({ locale: 'ja-JP', bypassCSP: true })).newPage();
  await passwordStep(second);
  assert.match(second.url(), /\/login\/mfa$/);
  problems.push(...await axe(second, '/login/mfa'));
  await second.fill('#code', nextCode(email));
  await second.press('#code', 'Enter');
  await second.waitForURL(/\/clinics$/);

  // Without the phone: a recovery code, once.
  const third = await (await browser.newContext({ locale: 'en-US' })).newPage();
  await passwordStep(third);
  await third.fill('#code', recovery[0].toLowerCase());
  await third.press('#code', 'Enter');
  await third.waitForURL(/\/clinics$/);
  await third.goto(`${base}/account/mfa`);
  assert.equal((await third.textContent('#recovery-left')).trim(), '9');
  const fourth = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
  await passwordStep(fourth);
  await fourth.fill('#code', recovery[0]);
  await fourth.press('#code', 'Enter');
  await fourth.waitForSelector('#mfa-error');
  assert.deepEqual(problems, []);
});
