#!/usr/bin/env bash
# Argon2 storms vs reader polls, on 127.0.0.1 only, bounded (about a minute): how much a flood of
# argon2id work slows the 304 poll path.
#  1. passcode verifications (argon2id + a write transaction each) through the reader API;
#  2. a sign-in storm from many client addresses (examples/signin_storm.rs): 32 accounts signing
#     in again and again with the right password, each from its own address, plus made-up
#     accounts guessed from 32 more addresses; every attempt a full GET + POST /login round.
# Usage: bench/storm.sh [seconds=15] [accounts=32]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-15}
ACCOUNTS=${2:-32}
PORT=${BENCH_PORT:-39129}
ADDR=127.0.0.1:$PORT
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }

cargo build --release --quiet --bin portal --example signin_storm
BIN=target/release/portal
DATA=$(mktemp -d)
trap 'kill $SERVER $STORM 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"' EXIT
CLINIC=0110113719
$BIN --data-dir "$DATA" clinic add --code $CLINIC --name "Storm clinic" >/dev/null
POLLER=$($BIN --data-dir "$DATA" reader add --clinic $CLINIC --name poller | tail -n 1)
STORMER=$($BIN --data-dir "$DATA" reader add --clinic $CLINIC --name stormer | tail -n 1)
CODE=$($BIN --data-dir "$DATA" passcode issue --clinic $CLINIC | tail -n 1)
PASSWORD='storm password 12345'
for i in $(seq 0 $((ACCOUNTS - 1))); do
  printf '%s\n' "$PASSWORD" | $BIN --data-dir "$DATA" user add --email "storm$i@clinic.jp" --role clinic-admin --clinic $CLINIC >/dev/null
done
RUST_LOG=warn $BIN --data-dir "$DATA" serve --addr "$ADDR" >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -fs "http://$ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
ETAG=$(curl -fsi -H "Authorization: Bearer $POLLER" "http://$ADDR/api/v1/reader/passcode" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')

cat >"$DATA/verify.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"passcode": "$CODE"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $STORMER"
LUA
poll() { wrk -t1 -c16 -d"${SECS}s" --latency -H "Authorization: Bearer $POLLER" -H "If-None-Match: $ETAG" "http://$ADDR/api/v1/reader/passcode"; }
p99() { awk '$1=="99%"{print $2}'; }

echo "== 304 polls alone (wrk -t1 -c16, ${SECS}s)"
QUIET=$(poll)
echo "poll: $(echo "$QUIET" | awk '/Requests\/sec/{print $2}') req/s, p50 $(echo "$QUIET" | awk '$1=="50%"{print $2}'), p99 $(echo "$QUIET" | p99)"

echo "== the same polls during an argon2 storm (wrk -t1 -c64 verifying the right code)"
wrk -t1 -c64 -d"$((SECS + 4))s" --latency -s "$DATA/verify.lua" "http://$ADDR/api/v1/reader/verify" >"$DATA/storm.txt" &
STORM=$!
sleep 2
LOUD=$(poll)
wait $STORM || true
echo "poll: $(echo "$LOUD" | awk '/Requests\/sec/{print $2}') req/s, p50 $(echo "$LOUD" | awk '$1=="50%"{print $2}'), p99 $(echo "$LOUD" | p99) (target: p99 under 20 ms)"
echo "storm: $(awk '/Requests\/sec/{print $2}' "$DATA/storm.txt") verifications/s, p99 $(awk '$1=="99%"{print $2}' "$DATA/storm.txt")"

echo "== the same polls during a sign-in storm ($ACCOUNTS accounts signing in from $ACCOUNTS addresses, $ACCOUNTS more addresses guessing)"
target/release/examples/signin_storm "$PORT" "$ACCOUNTS" "$PASSWORD" "$((SECS + 4))" >"$DATA/signin.txt" &
STORM=$!
sleep 2
LOUD=$(poll)
wait $STORM || true
echo "poll: $(echo "$LOUD" | awk '/Requests\/sec/{print $2}') req/s, p50 $(echo "$LOUD" | awk '$1=="50%"{print $2}'), p99 $(echo "$LOUD" | p99) (target: p99 under 20 ms)"
cat "$DATA/signin.txt"
echo "over $((SECS + 4)) s"
