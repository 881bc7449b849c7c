// Browser test: an invitation and a password reset walked through Chromium, the links read from
// the real SMTP server's Maildir (scripts/browser-tests.sh starts aiosmtpd and passes
// PORTAL_MAILDIR); every new page is scanned with axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { launchChromium } from './chromium.mjs';
import { afterPassword } from './second-factor.mjs';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const base = process.env.PORTAL_URL;
const maildir = process.env.PORTAL_MAILDIR;
let browser;

before(async () => {
  assert.ok(base && maildir, 'PORTAL_URL and PORTAL_MAILDIR are set by scripts/browser-tests.sh');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

/// A received message's headers and decoded text parts, joined.
function decode(raw) {
  raw = raw.replace(/\r\n/g, '\n');
  const [head] = raw.split('\n\n');
  const to = (head.match(/^To: (.*)$/m) || [])[1]?.trim();
  const boundary = (raw.match(/boundary="?([^";\n]+)"?/) || [])[1];
  const parts = boundary ? raw.split(`--${boundary}`).slice(1) : [raw];
  let text = '';
  for (const part of parts) {
    const [headers, ...rest] = part.replace(/^\n/, '').split('\n\n');
    const body = rest.join('\n\n');
    if (/content-transfer-encoding: base64/i.test(headers)) {
      text += Buffer.from(body.replace(/\s/g, ''), 'base64').toString('utf8');
    } else if (/content-transfer-encoding: quoted-printable/i.test(headers)) {
      const bytes = body.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
      text += Buffer.from(bytes, 'latin1').toString('utf8');
    } else {
      text += body;
    }
  }
  return { to, text };
}

/// Waits for a mail to `to` with a link under `path`, and returns the link.
async function linkFor(to, path) {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    for (const sub of ['new', 'cur']) {
      let names = [];
      try { names = readdirSync(join(maildir, sub)); } catch { continue; }
      const files = names.map((n) => join(maildir, sub, n)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
      for (const file of files) {
        const mail = decode(readFileSync(file, 'utf8'));
        const link = mail.to === to && (mail.text.match(new RegExp(`https?://\\S+${path}[0-9a-f]{64}`)) || [])[0];
        if (link) return link;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no mail with ${path} reached ${to}`);
}

async function axe(page, what) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${what}: ${v.id} (${v.impact}) ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(serious, [], 'no serious accessibility violations');
}

async function signIn(page, email, password) {
  await page.goto(`${base}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
  await afterPassword(page, email);
}

test('an invitation by mail, then a password reset by mail', async () => {
  const invitee = `invitee-${Date.now()}@installer.example.jp`;
  // The scan injects axe's script, which the portal's CSP would rightly refuse.
  const operator = await (await browser.newContext({ bypassCSP: true })).newPage();
  await signIn(operator, 'operator@installer.example.jp', 'operator password 123');
  await operator.goto(`${base}/users`);
  await axe(operator, '/users with the invite form');
  await operator.fill('#invite-email', invitee);
  await operator.selectOption('#invite-role', 'agent');
  await operator.click('#invite-form button[type=submit]');
  await operator.waitForSelector('#flash');
  assert.match(await operator.textContent('#pending-invitations'), new RegExp(invitee.replace('.', '\\.')));

  const invitation = await linkFor(invitee, '/invite/');
  assert.ok(invitation.startsWith(`${base}/invite/`), invitation);
  const person = await (await browser.newContext({ bypassCSP: true, locale: 'ja-JP' })).newPage();
  await person.goto(invitation);
  assert.equal((await person.textContent('#invite-account')).trim(), invitee);
  await axe(person, '/invite/{token}');
  // A common password (the browser itself refuses one shorter than 12 characters).
  await person.fill('#password', '123456789012');
  await person.fill('#password_confirm', '123456789012');
  await person.click('#accept-invitation button[type=submit]');
  await person.waitForSelector('#password-error');
  await axe(person, '/invite refused');
  await person.fill('#password', 'my own invited pass phrase');
  await person.fill('#password_confirm', 'my own invited pass phrase');
  await person.click('#accept-invitation button[type=submit]');
  await person.waitForURL(`${base}/login`);
  assert.match(await person.textContent('#flash'), /アカウントを作成しました/);
  await signIn(person, invitee, 'my own invited pass phrase');
  assert.ok(!person.url().includes('/login'), 'the invitee signs in');

  // The link is used up: one page for every link that cannot be used.
  const stranger = await (await browser.newContext({ bypassCSP: true })).newPage();
  const gone = await stranger.goto(invitation);
  assert.equal(gone.status(), 410);
  await axe(stranger, 'invalid link');

  // Forgot the password: from the sign-in page's link.
  await stranger.goto(`${base}/login`);
  await stranger.click('#forgot-password-link');
  await stranger.waitForURL(`${base}/password/forgot`);
  await axe(stranger, '/password/forgot');
  await stranger.fill('#email', invitee);
  await stranger.click('#forgot-password button[type=submit]');
  await stranger.waitForSelector('#forgot-sent');
  await axe(stranger, '/password/forgot sent');

  const reset = await linkFor(invitee, '/password/reset/');
  await stranger.goto(reset);
  await axe(stranger, '/password/reset/{token}');
  await stranger.fill('#password', 'a pass phrase set by mail');
  await stranger.fill('#password_confirm', 'a pass phrase set by mail');
  await stranger.click('#reset-password button[type=submit]');
  await stranger.waitForURL(`${base}/login`);
  assert.match(await stranger.textContent('#flash'), /パスワードを設定しました/);

  // The invitee's earlier session ended with the reset.
  await person.goto(`${base}/account/password`);
  assert.ok(person.url().includes('/login'), `signed out: ${person.url()}`);
  await signIn(stranger, invitee, 'a pass phrase set by mail');
  assert.ok(!stranger.url().includes('/login'), 'the new password signs in');
});
