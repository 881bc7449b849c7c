// Browser test: an agent logs a call with the keyboard alone, then finds the ticket by a
// Japanese word. Run by scripts/browser-tests.sh, which starts a seeded portal and sets PORTAL_URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './chromium.mjs';

const base = process.env.PORTAL_URL;
let browser;
let page;

before(async () => {
  assert.ok(base, 'PORTAL_URL is set by scripts/browser-tests.sh');
  // Playwright gives every launch a fresh, empty profile of its own.
  browser = await launchChromium();
  page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
  await page.goto(`${base}/login`);
  await page.keyboard.press('Tab'); // skip link
  await page.fill('#email', 'agent@installer.example.jp');
  await page.fill('#password', 'agent password 123');
  await page.press('#password', 'Enter');
  await page.waitForURL(/\/desk/);
});

after(async () => {
  await browser?.close();
});

test('an agent logs a call from the keyboard and finds it by a Japanese word', async () => {
  await page.goto(`${base}/desk/calls/new`);
  // The clinic search has the focus: type part of the name and press Enter.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'clinic_q');
  await page.keyboard.type('さくら');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#call-form');
  // One match: its form opens with the caller's name focused.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'caller_name');
  await page.keyboard.type('山田 花子');
  // Tab through the form to the summary, the notes and the save button.
  const focusNext = async (id) => {
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement.id) === id) return;
    }
    assert.fail(`could not reach #${id} with Tab`);
  };
  await focusNext('summary');
  await page.keyboard.type('目視モードに切り替えられない');
  await focusNext('notes');
  await page.keyboard.type('切り替え機のスイッチの位置を案内した');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), '保存');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/desk\/tickets\/SUP-\d{6}$/);
  const number = page.url().split('/').pop();
  assert.match(await page.textContent('h1'), /目視モードに切り替えられない/);
  assert.match(await page.textContent('.timeline'), /切り替え機のスイッチの位置を案内した/);

  // Find it again by a word that is only in the call notes.
  await page.goto(`${base}/desk/tickets`);
  await page.focus('#q');
  await page.keyboard.type('スイッチの位置');
  await page.keyboard.press('Enter');
  await page.waitForURL(/q=/);
  const results = await page.textContent('table.tickets');
  assert.match(results, new RegExp(number));
});

test('Enter in the call form never saves a half-filled ticket, with or without JavaScript', async () => {
  for (const javaScriptEnabled of [true, false]) {
    const context = await browser.newContext({ locale: 'ja-JP', javaScriptEnabled });
    const tab = await context.newPage();
    await tab.goto(`${base}/login`);
    await tab.fill('#email', 'agent@installer.example.jp');
    await tab.fill('#password', 'agent password 123');
    await tab.press('#password', 'Enter');
    await tab.waitForURL(/\/desk/);
    await tab.goto(`${base}/desk/calls/new?clinic=0110113719`);
    await tab.fill('#summary', '件名だけ');
    await tab.press('#summary', 'Enter');
    await tab.fill('#caller_name', '佐藤');
    await tab.press('#caller_name', 'Enter');
    // Give a submission the chance to happen, then check none did.
    await tab.waitForTimeout(500);
    assert.match(tab.url(), /\/desk\/calls\/new/, `JavaScript ${javaScriptEnabled}: Enter did not submit`);
    if (javaScriptEnabled) {
      assert.equal(await tab.evaluate(() => document.activeElement.id), 'callback_phone', 'Enter moves on');
    }
    await context.close();
  }
  // Nothing was saved: the search for the summary finds no ticket.
  await page.goto(`${base}/desk/tickets?q=${encodeURIComponent('件名だけ')}`);
  assert.match(await page.textContent('#result-count'), /^\s*0 /);
});
