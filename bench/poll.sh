#!/usr/bin/env bash
# Reader-poll benchmark, on 127.0.0.1 only, bounded in time (about one minute).
#  1. 304 conditional polls vs /healthz on the same release server (wrk, two interleaved rounds);
#  2. time for one rotation to reach 1,000 held long-polls.
# Usage: bench/poll.sh [connections] [seconds] [long-polls]
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${1:-64}
SECS=${2:-8}
HELD=${3:-1000}
PORT=${BENCH_PORT:-39123}
ADDR=127.0.0.1:$PORT

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build --release --quiet --bin portal --example longpoll
BIN=target/release/portal
DATA=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"' EXIT

CLINIC=0110113719
PASSWORD='benchmark password 123'
$BIN --data-dir "$DATA" clinic add --code $CLINIC --name "Bench clinic" >/dev/null
printf '%s\n' "$PASSWORD" | $BIN --data-dir "$DATA" user add --email bench@clinic.jp --role clinic-admin --clinic $CLINIC >/dev/null
TOKEN=$($BIN --data-dir "$DATA" reader add --clinic $CLINIC --name bench | tail -n 1)
# A reader holds at most two long-polls: the held polls need readers of their own.
for i in $(seq "$HELD"); do $BIN --data-dir "$DATA" reader add --clinic $CLINIC --name "held-$i" | tail -n 1; done >"$DATA/tokens"
$BIN --data-dir "$DATA" passcode issue --clinic $CLINIC >/dev/null

RUST_LOG=warn $BIN --data-dir "$DATA" serve --addr "$ADDR" --max-long-polls 15000 >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -fs "http://$ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

ETAG=$(curl -fsi -H "Authorization: Bearer $TOKEN" "http://$ADDR/api/v1/reader/passcode" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H "If-None-Match: $ETAG" "http://$ADDR/api/v1/reader/passcode")
[ "$STATUS" = 304 ] || { echo "expected 304 from the conditional poll, got $STATUS" >&2; exit 1; }

echo "== machine: $(nproc) cores; wrk -t2 -c$CONNS -d${SECS}s, server and wrk share the cores"
rps() { awk '/Requests\/sec/{print $2}'; }
p99() { awk '$1=="99%"{print $2}'; }
# Interleaved rounds, so drift of the shared machine hits both sides alike.
H_ALL=""; P_ALL=""
for round in 1 2; do
  HEALTH=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "http://$ADDR/healthz")
  POLL=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -H "Authorization: Bearer $TOKEN" -H "If-None-Match: $ETAG" "http://$ADDR/api/v1/reader/passcode")
  echo "round $round: /healthz $(echo "$HEALTH" | rps) req/s (p99 $(echo "$HEALTH" | p99)); 304 poll $(echo "$POLL" | rps) req/s (p99 $(echo "$POLL" | p99))"
  H_ALL="$H_ALL $(echo "$HEALTH" | rps)"; P_ALL="$P_ALL $(echo "$POLL" | rps)"
done
awk -v h="$H_ALL" -v p="$P_ALL" 'BEGIN {
  nh = split(h, hs, " "); np = split(p, ps, " ");
  for (i = 1; i <= nh; i++) th += hs[i]; for (i = 1; i <= np; i++) tp += ps[i];
  printf "mean: /healthz %.0f req/s, 304 poll %.0f req/s: poll / healthz = %.0f%% (target: at least 80%%)\n", th/nh, tp/np, 100 * (tp/np) / (th/nh) }'
NON304=$(echo "$POLL" | awk '/Non-2xx or 3xx/{print $NF}')
[ -z "$NON304" ] || echo "warning: $NON304 poll answers were not 2xx/3xx"
echo "server RSS: $(awk '/VmRSS/{print $2, $3}' /proc/$SERVER/status)"

echo "== $HELD held long-polls, one rotation through the web UI"
target/release/examples/longpoll "$ADDR" "@$DATA/tokens" bench@clinic.jp "$PASSWORD" $CLINIC "$HELD"
echo "server RSS after the run: $(awk '/VmRSS/{print $2, $3}' /proc/$SERVER/status)"
