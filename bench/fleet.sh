#!/usr/bin/env bash
# Fleet load on 127.0.0.1 only, bounded in time (about two minutes): N readers (default 10,000)
# hold long-polls on one portal process while passcodes rotate; reports fan-out per rotation,
# the portal's memory while they wait, and /healthz latency under that load.
# Usage: bench/fleet.sh [readers=10000] [rotations=3]
set -euo pipefail
cd "$(dirname "$0")/.."

READERS=${1:-10000}
ROTATIONS=${2:-3}
PORT=${BENCH_PORT:-39128}
ADDR=127.0.0.1:$PORT
# Each held poll is one socket on each side; the portal and the fleet run as two processes.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "open-file limit: $(ulimit -n) per process"

cargo build --release --quiet --bin portal
BIN=target/release/portal
DATA=$(mktemp -d)
trap 'kill $SERVER $FLEET 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"' EXIT

CLINIC=0110113719
$BIN --data-dir "$DATA" clinic add --code $CLINIC --name "Fleet clinic" >/dev/null
# A reader holds at most two long-polls (reader-api.md), so READERS/2 real readers, each token
# used twice. Enrolled with the CLI, two at a time (SQLite serialises the writes).
seq $((READERS / 2)) | xargs -P 2 -I{} sh -c "$BIN --data-dir '$DATA' reader add --clinic $CLINIC --name reader-{} | tail -n 1" >"$DATA/half"
cat "$DATA/half" "$DATA/half" >"$DATA/tokens"
echo "enrolled $(wc -l <"$DATA/half") readers"

RUST_LOG=warn $BIN --data-dir "$DATA" serve --addr "$ADDR" --max-long-polls 15000 >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -fs "http://$ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
echo "portal RSS at start: $(awk '/VmRSS/{print $2, $3}' /proc/$SERVER/status)"

$BIN reader-sim --url "http://$ADDR" --wait 60 fleet --tokens-file "$DATA/tokens" --settle-s 15 \
  --rotations "$ROTATIONS" --rotate-cmd "$BIN --data-dir $DATA passcode issue --clinic $CLINIC" >"$DATA/fleet.log" 2>&1 &
FLEET=$!
sleep 12
echo "portal RSS with $READERS long-polls held: $(awk '/VmRSS/{print $2, $3}' /proc/$SERVER/status)"
echo "portal open sockets: $(ls /proc/$SERVER/fd | wc -l)"
# /healthz while they wait: 200 sequential requests, slowest first.
for _ in $(seq 200); do curl -s -o /dev/null -w '%{time_total}\n' "http://$ADDR/healthz"; done | sort -rn >"$DATA/health"
awk '{ a[NR] = $1 } END { printf "/healthz while held: max %.1f ms, p99 %.1f ms, p50 %.1f ms (200 requests)\n", a[1]*1000, a[3]*1000, a[int(NR/2)]*1000 }' "$DATA/health"
wait $FLEET || true
cat "$DATA/fleet.log"
echo "note: rotations are issued with the CLI, so figures include its start-up, two argon2id hashes and the"
echo "server's 250 ms change-follow interval; a web-issued rotation skips the last (see bench/poll.sh)."
