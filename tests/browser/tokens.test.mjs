// Browser test: a new reader token can be carried off the page: a copy button (JavaScript) puts
// it on the clipboard; without JavaScript there is no dead button and the token selects whole.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './chromium.mjs';
import { afterPassword } from './second-factor.mjs';

const base = process.env.PORTAL_URL;
let browser;

before(async () => {
  assert.ok(base, 'PORTAL_URL is set by scripts/browser-tests.sh');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

async function enrolReader(javaScriptEnabled, name) {
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 375, height: 740 }, javaScriptEnabled });
  if (javaScriptEnabled) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#email', 'operator@installer.example.jp');
  await page.fill('#password', 'operator password 123');
  await page.press('#password', 'Enter');
  await afterPassword(page, 'operator@installer.example.jp');
  await page.goto(`${base}/clinics/0110113719`);
  await page.fill('#reader-name', name);
  await page.click('form[action$="/readers"] button[type=submit]');
  await page.waitForSelector('#device-token');
  return page;
}

test('the copy button puts the device token on the clipboard', async () => {
  const page = await enrolReader(true, 'コピー試験1');
  const token = (await page.textContent('#device-token')).trim();
  assert.ok(await page.isVisible('#copy-device-token'));
  await page.click('#copy-device-token');
  await page.waitForFunction(() => document.getElementById('copy-status').textContent.length > 0);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
  assert.match(await page.textContent('#copy-status'), /コピーしました/);
  assert.ok(await page.isVisible('.token-qr svg'), 'the QR code is shown');
  const qr = await page.locator('.token-qr svg').boundingBox();
  assert.ok(qr.width >= 150 && qr.width <= 375, `the QR code fits the phone (${qr.width}px)`);
});

test('without JavaScript the token is selectable text and no button is offered', async () => {
  const page = await enrolReader(false, 'コピー試験2');
  assert.equal(await page.isVisible('#copy-device-token'), false);
  const select = await page.$eval('#device-token', (el) => getComputedStyle(el).userSelect || getComputedStyle(el).webkitUserSelect);
  assert.equal(select, 'all');
  await page.click('#device-token');
  const selected = await page.evaluate(() => String(window.getSelection()));
  assert.equal(selected.trim(), (await page.textContent('#device-token')).trim());
});
