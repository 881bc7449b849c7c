// Takes the README screenshots from a running portal seeded by scripts/screenshots.sh.
// Usage: node screenshots.mjs <base-url> <out-dir>
import { launchChromium } from './chromium.mjs';
import fs from 'node:fs';

const [base = 'http://127.0.0.1:3901', out = '../../docs/screenshots'] = process.argv.slice(2);
fs.mkdirSync(out, { recursive: true });
const browser = await launchChromium();
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
  // Revoking a reader asks first; cancel goes back with nothing changed.
  await page.click('tr:has-text("受付2") form[action$="/revoke"] button');
  await page.waitForSelector('#confirm-action');
  await page.screenshot({ path: `${out}/confirm-revoke.png` });
  await page.click('text=キャンセル');
  await page.waitForURL(/\/clinics\/\d+$/);
  await page.click('text=パスコードを発行する');
  await page.click('#confirm-issue');
  await page.waitForSelector('#new-passcode');
  await page.screenshot({ path: `${out}/passcode-issued.png` });
  await page.click('text=メモしました');
  await page.screenshot({ path: `${out}/passcode-history.png`, fullPage: true });
  // The support desk: an agent logs a few calls, then the dashboard and the call screen.
  const desk = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
  await desk.goto(`${base}/login`);
  await desk.fill('#email', 'agent@installer.example.jp');
  await desk.fill('#password', 'demo password 1234');
  await desk.click('button[type=submit]');
  await desk.waitForURL(/\/desk/);
  const calls = [
    ['さくら', '山田 花子', 'パスコードを忘れた', '管理者不在。再発行の手順を案内'],
    ['みどり', '佐藤 一郎', 'リモートデスクトップで接続できない', '併設設置型のアドレスを案内'],
    ['さくら', '山田 花子', '画面が切り替わらない', '切り替えスイッチの位置を確認中'],
  ];
  for (const [clinic, caller, summary, notes] of calls) {
    await desk.goto(`${base}/desk/calls/new?clinic_q=${encodeURIComponent(clinic)}`);
    await desk.fill('#caller_name', caller);
    await desk.fill('#summary', summary);
    await desk.fill('#notes', notes);
    await desk.click('#save-call');
    await desk.waitForURL(/SUP-/);
  }
  await desk.goto(`${base}/desk/calls/new?clinic_q=${encodeURIComponent('さくら')}`);
  await desk.fill('#caller_name', '山田 花子');
  await desk.fill('#summary', 'カードリーダーの顔認証が通らない');
  await desk.screenshot({ path: `${out}/desk-call.png`, fullPage: true });
  await desk.goto(`${base}/desk`);
  await desk.screenshot({ path: `${out}/desk-dashboard.png`, fullPage: true });
  await desk.goto(`${base}/desk/tickets/SUP-000001`);
  await desk.screenshot({ path: `${out}/desk-ticket.png`, fullPage: true });
  // The guide: a step as a signed-in clinic admin sees it, and the printable view.
  const guidePage = await (await browser.newContext({ viewport: { width: 1000, height: 760 } })).newPage();
  await guidePage.goto(`${base}/login`);
  await guidePage.fill('#email', 'admin@sakura.example.jp');
  await guidePage.fill('#password', 'demo password 1234');
  await guidePage.click('button[type=submit]');
  await guidePage.waitForURL(/\/clinics\//);
  await guidePage.goto(`${base}/guide/mokushi/B-4?path=A-1,B-1`);
  await guidePage.screenshot({ path: `${out}/guide-step.png`, fullPage: true });
  await guidePage.goto(`${base}/guide/mokushi/print`);
  await guidePage.screenshot({ path: `${out}/guide-print.png`, clip: { x: 0, y: 0, width: 1000, height: 1400 }, fullPage: true });
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await phone.goto(`${base}/guide/mokushi/B-2?path=A-1,B-1`);
  await phone.screenshot({ path: `${out}/guide-phone.png`, fullPage: true });
  // The clinic page on a phone: a one-line header with its menu, tables as labelled cards.
  await phone.goto(`${base}/login`);
  await phone.fill('#email', 'admin@sakura.example.jp');
  await phone.fill('#password', 'demo password 1234');
  await phone.click('form[action="/login"] button[type=submit]');
  await phone.waitForURL(/\/clinics\//);
  await phone.screenshot({ path: `${out}/phone-clinic.png`, fullPage: true });
  await phone.click('.site-menu summary');
  await phone.screenshot({ path: `${out}/phone-menu.png` });
} finally {
  await browser.close();
}
