#!/usr/bin/env bash
# Seeds a throwaway portal with demo data and takes the README screenshots (headless Chromium).
# Needs: apt-get install chromium fonts-noto-cjk; npm ci in tests/browser.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin portal
BIN=target/release/portal
DATA=$(mktemp -d)
ADDR=127.0.0.1:${SHOT_PORT:-39125}
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
CLINIC=0110113719
$BIN --data-dir "$DATA" clinic add --code $CLINIC --name "さくら内科クリニック" --phone 011-555-0100 --address "札幌市中央区北1条西1丁目" >/dev/null
printf 'demo password 1234\n' | $BIN --data-dir "$DATA" user add --email admin@sakura.example.jp --role clinic-admin --clinic $CLINIC >/dev/null
T1=$($BIN --data-dir "$DATA" reader add --clinic $CLINIC --name 受付1 | tail -n 1)
$BIN --data-dir "$DATA" reader add --clinic $CLINIC --name 受付2 --install-type shared >/dev/null
$BIN --data-dir "$DATA" passcode issue --clinic $CLINIC >/dev/null
$BIN --data-dir "$DATA" clinic add --code 1310000003 --name "みどり歯科医院" --phone 03-5555-0200 >/dev/null
printf 'demo password 1234\n' | $BIN --data-dir "$DATA" user add --email agent@installer.example.jp --role agent >/dev/null
$BIN --data-dir "$DATA" installer set --name "オプテック サポートセンター" --phone 0120-555-010 --hours "平日 9:00〜18:00" >/dev/null
$BIN --data-dir "$DATA" serve --addr "$ADDR" >"$DATA/log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -fs "http://$ADDR/healthz" >/dev/null && break; sleep 0.1; done
curl -fs -H "Authorization: Bearer $T1" "http://$ADDR/api/v1/reader/passcode" >/dev/null
(cd tests/browser && npm ci --no-audit --no-fund --silent && node screenshots.mjs "http://$ADDR" ../../docs/screenshots)
echo "screenshots written to docs/screenshots/"
