// Accessibility scan (axe-core) of every kind of page, signed out and as each role: no serious
// or critical violations. Run by scripts/browser-tests.sh against a seeded portal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { launchChromium } from './chromium.mjs';
import { afterPassword } from './second-factor.mjs';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const base = process.env.PORTAL_URL;
let browser;

before(async () => {
  assert.ok(base, 'PORTAL_URL is set by scripts/browser-tests.sh');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

async function signedIn(email, password) {
  // The scan injects axe's script, which the portal's CSP would rightly refuse.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  if (email) {
    await page.goto(`${base}/login`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.press('#password', 'Enter');
    await afterPassword(page, email);
    assert.ok(!page.url().endsWith('/login'), `${email} is signed in`);
  }
  return page;
}

async function scan(page, path) {
  await page.goto(`${base}${path}`);
  return scanCurrent(page, path);
}

/// The page as it is now (for pages reached by submitting a form).
async function scanCurrent(page, path) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${path}: ${v.id} (${v.impact}) ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')}`);
}

test('no serious accessibility violations on any kind of page', async () => {
  const problems = [];
  const visitor = await signedIn();
  for (const path of ['/login', '/guide', '/guide/mokushi', '/guide/mokushi/A-1', '/guide/mokushi/B-4?path=A-1,B-1',
    '/guide/mokushi/D-4', '/guide/mokushi/B-4/help', '/guide/mokushi/print', '/guide/mokushi/overview', '/nope']) {
    problems.push(...await scan(visitor, path));
  }
  const admin = await signedIn('admin@sakura.example.jp', 'clinic password 123');
  for (const path of ['/clinics/0110113719', '/clinics/0110113719/passcode', '/clinics/0110113719/passcode/issue',
    '/clinics/0110113719/requests', '/guide/mokushi/C-1', '/account/password', '/guide/mokushi/B-4/help',
    '/account/mfa', '/account/sessions', '/account/notifications']) {
    problems.push(...await scan(admin, path));
  }
  // The confirmation asked before revoking a reader (the revoke button's first POST).
  await admin.goto(`${base}/clinics/0110113719`);
  await admin.click('form[action$="/revoke"] button');
  await admin.waitForSelector('#confirm-action');
  problems.push(...await scanCurrent(admin, 'confirm revoke'));
  const agent = await signedIn('agent@installer.example.jp', 'agent password 123');
  for (const path of ['/desk', '/desk/tickets', '/desk/calls/new?clinic_q=さくら', '/clinics', '/account/tokens',
    '/account/notifications']) {
    problems.push(...await scan(agent, path));
  }
  const operator = await signedIn('operator@installer.example.jp', 'operator password 123');
  for (const path of ['/users', '/desk/settings', '/guide/mokushi/stats', '/account/mfa', '/outbox', '/account/sessions']) {
    problems.push(...await scan(operator, path));
  }
  // The notifications page after a save (its confirmation shown), with a kind turned off.
  await agent.goto(`${base}/account/notifications`);
  await agent.uncheck('#receive-ticket_due_soon');
  await agent.check('#language-en');
  await agent.click('#notifications-save');
  await agent.waitForLoadState();
  assert.ok(!(await agent.isChecked('#receive-ticket_due_soon')), 'the kind stays off');
  assert.ok(await agent.isDisabled('#receive-security_password_changed'), 'security notices are locked');
  problems.push(...await scanCurrent(agent, 'notifications saved'));
  // A form refused with errors next to its fields, then a confirmation after a save.
  await operator.goto(`${base}/clinics`);
  await operator.fill('#code', '0110113718');
  await operator.fill('#name', 'テスト');
  await operator.click('form[action="/clinics"] button[type=submit]');
  await operator.waitForSelector('#code-error');
  problems.push(...await scanCurrent(operator, 'clinic form with errors'));
  // Issuing a passcode twice from one confirmation: the second answer says it was issued.
  await admin.goto(`${base}/clinics/0110113719/passcode/issue`);
  await admin.evaluate(async () => {
    const form = document.querySelector('form[action$="/passcode"]');
    await fetch(form.action, { method: 'POST', body: new URLSearchParams(new FormData(form)) });
  });
  await admin.click('#confirm-issue');
  await admin.waitForSelector('#already-issued');
  problems.push(...await scanCurrent(admin, 'already issued'));
  assert.deepEqual(problems, []);
});
