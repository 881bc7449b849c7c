// Takes the README screenshots from a running portal seeded by scripts/screenshots.sh.
// Usage: node screenshots.mjs <base-url> <out-dir>
import { chromium } from 'playwright-core';
import fs from 'node:fs';

const [base = 'http://127.0.0.1:3901', out = '../../docs/screenshots'] = process.argv.slice(2);
fs.mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.screenshot({ path: `${out}/login.png` });
  await page.fill('#email', 'admin@sakura.example.jp');
  await page.fill('#password', 'demo password 1234');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/clinics\//);
  await page.screenshot({ path: `${out}/clinic.png`, fullPage: true });
  await page.click('text=パスコードを発行する');
  await page.click('#confirm-issue');
  await page.waitForSelector('#new-passcode');
  await page.screenshot({ path: `${out}/passcode-issued.png` });
  await page.click('text=メモしました');
  await page.screenshot({ path: `${out}/passcode-history.png`, fullPage: true });
} finally {
  await browser.close();
}
