// The second factor as a person with an authenticator app answers it: RFC 6238 codes from the
// base32 secret the set-up page shows (#totp-secret). Operators must set it up at their first
// sign-in, so every test that signs one in goes through here. What each account's app holds is
// kept in a JSON file (PORTAL_TOTP_STATE, made by scripts/browser-tests.sh) because each test
// file runs in its own process; a code works once, so the last step used is kept too.
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';

const statePath = process.env.PORTAL_TOTP_STATE || '/tmp/portal-totp-state.json';

function load() {
  return existsSync(statePath) ? JSON.parse(readFileSync(statePath, 'utf8')) : {};
}

function save(state) {
  writeFileSync(statePath, JSON.stringify(state));
}

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    assert.ok(v >= 0, `base32 character ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

export function codeAt(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

/** The next unused code for `email` (a step one either side of now), or a recovery code. */
export function nextCode(email) {
  const state = load();
  const account = state[email];
  assert.ok(account, `the tests set up ${email}'s second factor`);
  const now = Math.floor(Date.now() / 1000 / 30);
  const step = Math.max(account.lastStep + 1, now - 1);
  let code;
  if (step <= now + 1) {
    account.lastStep = step;
    code = codeAt(account.secret, step);
  } else {
    code = account.recovery.pop();
  }
  save(state);
  return code;
}

/** Sets the second factor up on the page /account/mfa shows; returns the recovery codes. */
export async function setUp(page, email) {
  const secret = (await page.textContent('#totp-secret')).trim();
  const step = Math.floor(Date.now() / 1000 / 30) - 1;
  await page.fill('#code', codeAt(secret, step));
  await page.click('#mfa-enable');
  await page.waitForSelector('#recovery-codes');
  const recovery = (await page.$$eval('#recovery-codes code', (codes) => codes.map((c) => c.textContent.trim())));
  const state = load();
  state[email] = { secret, lastStep: step, recovery };
  save(state);
  return recovery;
}

/**
 * After the password was submitted: answers the code step, or sets the factor up where the
 * account must have one, then goes on to where the portal was sending the browser.
 */
export async function afterPassword(page, email) {
  await page.waitForLoadState();
  const path = new URL(page.url()).pathname;
  if (path === '/login/mfa') {
    await page.fill('#code', nextCode(email));
    await page.press('#code', 'Enter');
    await page.waitForLoadState();
  } else if (path === '/account/mfa') {
    await setUp(page, email);
    await page.click('#mfa-continue');
    await page.waitForLoadState();
  }
}

/** Signs in through the form, the second factor included. */
export async function signIn(page, base, email, password) {
  await page.goto(`${base}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
  await afterPassword(page, email);
}
