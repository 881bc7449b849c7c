#!/usr/bin/env bash
# Browser tests (headless Chromium via playwright-core) against a freshly seeded portal.
# Installs Chromium (Debian package) and the npm dependencies when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium for the browser tests"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "the browser tests need Debian's chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
fi
(cd tests/browser && npm ci --no-audit --no-fund --silent)

cargo build --quiet --bin portal
BIN=target/debug/portal
DATA=$(mktemp -d)
PORT=${BROWSER_TEST_PORT:-39127}
ADDR=127.0.0.1:$PORT
trap 'kill $SERVER 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"' EXIT

$BIN --data-dir "$DATA" clinic add --code 0110113719 --name "さくら内科クリニック" --phone 011-555-0100 >/dev/null
printf 'agent password 123\n' | $BIN --data-dir "$DATA" user add --email agent@installer.example.jp --role agent >/dev/null
printf 'clinic password 123\n' | $BIN --data-dir "$DATA" user add --email admin@sakura.example.jp --role clinic-admin --clinic 0110113719 >/dev/null
printf 'operator password 123\n' | $BIN --data-dir "$DATA" user add --email operator@installer.example.jp --role operator >/dev/null
# Signs in only in second-factor.test.mjs, which walks its first set-up.
printf 'second operator 123\n' | $BIN --data-dir "$DATA" user add --email operator2@installer.example.jp --role operator >/dev/null
$BIN --data-dir "$DATA" reader add --clinic 0110113719 --name 受付1 --install-type shared >/dev/null
printf 'browser pc pass\n' | $BIN --data-dir "$DATA" guide-credential set --username BrowserPcUser >/dev/null
# A real SMTP server (aiosmtpd) saving into a Maildir, which the mail tests read links from.
SMTP_PORT=${BROWSER_TEST_SMTP_PORT:-39128}
PY=python3
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null && PY=/usr/bin/python3
$PY -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$DATA/mail" >/dev/null 2>&1 &
SMTP=$!
trap 'kill ${SERVER:-} ${SMTP:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && break; sleep 0.1; done

RUST_LOG=warn $BIN --data-dir "$DATA" serve --addr "$ADDR" --public-url "http://$ADDR" \
  --smtp-url "smtp://127.0.0.1:$SMTP_PORT" --mail-from portal@installer.example.jp >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "http://$ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

# What each account's authenticator app holds (tests/browser/second-factor.mjs), across test files;
# the mail the portal sent (aiosmtpd's Maildir).
PORTAL_URL="http://$ADDR" PORTAL_TOTP_STATE="$DATA/totp.json" PORTAL_MAILDIR="$DATA/mail" node --test tests/browser/ || { echo "--- server log"; cat "$DATA/server.log"; exit 1; }
