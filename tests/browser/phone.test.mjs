// Browser test: on a phone-sized screen (375 px) the header is one line with a menu behind a
// disclosure (no JavaScript needed), and tables are stacked cards whose cells are labelled and
// never squeezed to a character per line.
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

async function phone(email, password, javaScriptEnabled = true) {
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 375, height: 740 }, javaScriptEnabled });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
  await afterPassword(page, email);
  return page;
}

/** The header's height against one line of its text, and whether the wide nav is hidden. */
async function header(page) {
  return page.evaluate(() => {
    const h = document.querySelector('.site-header');
    const brand = document.querySelector('.brand');
    const menu = document.querySelector('.site-menu summary');
    const rect = (e) => e.getBoundingClientRect();
    return {
      oneLine: Math.abs(rect(brand).top - rect(menu).top) < rect(menu).height && rect(h).height < 80,
      wideNavShown: getComputedStyle(document.querySelector('.site-nav')).display !== 'none',
      height: rect(h).height,
    };
  });
}

/** Every table cell with text, with its width and the height of a line of its text. */
async function narrowCells(page) {
  return page.evaluate(() => {
    const bad = [];
    for (const cell of document.querySelectorAll('main td, main tbody th')) {
      const text = cell.textContent.trim();
      if (!text) continue;
      const width = cell.getBoundingClientRect().width;
      const lineHeight = parseFloat(getComputedStyle(cell).lineHeight) || 24;
      // A cell narrower than four characters, or one whose text stands a character or two a line.
      if (width < 64) bad.push({ text: text.slice(0, 20), width });
      const range = document.createRange();
      range.selectNodeContents(cell);
      const lines = range.getBoundingClientRect().height / lineHeight;
      if (text.length >= 4 && lines > Math.max(4, text.length / 2)) bad.push({ text: text.slice(0, 20), lines });
    }
    return bad;
  });
}

async function unlabelled(page) {
  return page.evaluate(() => [...document.querySelectorAll('main td')].filter((td) => !td.dataset.label).length);
}

for (const [who, email, password, paths] of [
  ['an operator', 'operator@installer.example.jp', 'operator password 123',
    ['/clinics/0110113719', '/users', '/desk/settings', '/desk', '/clinics']],
  ['a clinic admin', 'admin@sakura.example.jp', 'clinic password 123',
    ['/clinics/0110113719', '/clinics/0110113719/passcode', '/guide/mokushi/B-4?path=A-1,B-1']],
]) {
  test(`${who} sees a one-line header and tables as labelled cards at 375 px`, async () => {
    const page = await phone(email, password);
    for (const path of paths) {
      await page.goto(`${base}${path}`);
      const h = await header(page);
      assert.ok(h.oneLine, `${path}: the header is one line (${h.height}px)`);
      assert.ok(!h.wideNavShown, `${path}: the wide navigation is hidden`);
      assert.deepEqual(await narrowCells(page), [], `${path}: no squeezed table cell`);
      assert.equal(await unlabelled(page), 0, `${path}: every cell is labelled`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 375, `${path}: nothing wider than the screen (${width}px)`);
    }
  });
}

test('the phone menu opens without JavaScript and holds the links', async () => {
  const page = await phone('operator@installer.example.jp', 'operator password 123', false);
  await page.goto(`${base}/clinics/0110113719`);
  assert.equal(await page.isVisible('.site-menu-nav a[href="/users"]'), false);
  await page.click('.site-menu summary');
  assert.equal(await page.isVisible('.site-menu-nav a[href="/users"]'), true);
  await page.click('.site-menu-nav a[href="/users"]');
  await page.waitForURL(/\/users$/);
});

test('on a wide screen the header shows the links and no menu button', async () => {
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  await page.goto(`${base}/guide/mokushi`);
  assert.equal(await page.isVisible('.site-nav a[href="/guide/mokushi"]'), true);
  assert.equal(await page.isVisible('.site-menu summary'), false);
});
