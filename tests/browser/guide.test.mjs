// Browser test: a clinic admin walks the 目視モード guide through branch ③ (remote desktop) to
// the end, answers "not solved" and files a help request carrying the step and the path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './chromium.mjs';

const base = process.env.PORTAL_URL;
let browser;
let page;

before(async () => {
  assert.ok(base, 'PORTAL_URL is set by scripts/browser-tests.sh');
  browser = await launchChromium();
  page = await (await browser.newContext({ locale: 'ja-JP', viewport: { width: 390, height: 844 } })).newPage();
  await page.goto(`${base}/login`);
  await page.fill('#email', 'admin@sakura.example.jp');
  await page.fill('#password', 'clinic password 123');
  await page.press('#password', 'Enter');
  await page.waitForURL(/\/clinics\//);
});

after(async () => {
  await browser?.close();
});

const code = async () => (await page.textContent('#step-code')).trim();

test('a clinic admin walks branch ③ to the end and asks for help there', async () => {
  await page.goto(`${base}/guide/mokushi`);
  await page.click('text=はじめる');
  assert.equal(await code(), 'A-1');
  await page.click('text=パスコードをオンライン資格確認PCで発行したい');
  assert.equal(await code(), 'B-1');
  await page.click('text=③ ①も②もうまくいかない');
  assert.equal(await code(), 'B-4');
  assert.match(await page.textContent('#rd-standalone'), /10\.51\.1\.2:53389/);
  assert.match(await page.textContent('#rd-shared'), /172\.31\.10\.10:53389/);
  await page.click('text=接続できた');
  // The linear part: C-1 … C-7, then D-1.
  for (const expected of ['C-1', 'C-2', 'C-3', 'C-4', 'C-5', 'C-6', 'C-7', 'D-1']) {
    assert.equal(await code(), expected);
    if (expected === 'C-1') {
      await page.click('#reveal-credential');
      // scripts/browser-tests.sh sets these with `portal guide-credential set`.
      assert.equal((await page.textContent('#pc-username')).trim(), 'BrowserPcUser');
    }
    if (expected === 'C-3') {
      assert.match(await page.textContent('.guide-warning'), /絶対に変更しないでください/);
    }
    await page.click('#next-step');
  }
  assert.equal(await code(), 'D-2');
  await page.click('text=入力できた');
  assert.equal(await code(), 'D-3');
  await page.click('#next-step');
  assert.equal(await code(), 'D-4');
  const trail = await page.textContent('.guide-trail');
  for (const step of ['A-1', 'B-1', 'B-4', 'C-1', 'C-7', 'D-3']) assert.match(trail, new RegExp(step));

  await page.click('text=いいえ、まだ困っています');
  await page.waitForURL(/\/guide\/mokushi\/D-4\/help/);
  await page.fill('#message', '同意画面に進まない');
  await page.click('#send-help');
  await page.waitForURL(/\/requests\/SUP-\d{6}$/);
  const request = await page.textContent('main');
  assert.match(request, /同意画面に進まない/);
  assert.match(request, /D-4/);
  assert.match(request, /B-4/);
});
