#!/usr/bin/env bash
# Ticket search benchmark, on 127.0.0.1 only: 100,000 made-up tickets in a temporary SQLite
# database (examples/search_bench.rs seeds them; the portal builds their search index at
# start-up), then the median latency of searches through GET /api/v1/tickets — words of 3+
# characters and of 2 characters — beside the open-ticket list, one request at a time.
# Usage: bench/search.sh [tickets=100000] [rounds=20]
# BENCH_PROFILE=dev uses the debug build (quicker to build, slower to run: for trying it out).
set -euo pipefail
cd "$(dirname "$0")/.."
TICKETS=${1:-100000}
ROUNDS=${2:-20}
PORT=${BENCH_PORT:-39131}
ADDR=127.0.0.1:$PORT
PROFILE=${BENCH_PROFILE:-release}

if [ "$PROFILE" = release ]; then
  cargo build --release --quiet --bin portal --example search_bench
  DIR=target/release
else
  cargo build --quiet --bin portal --example search_bench
  DIR=target/debug
fi
BIN=$DIR/portal
DATA=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; wait 2>/dev/null || true; rm -rf "$DATA"' EXIT

started=$(date +%s.%N)
$DIR/examples/search_bench seed "sqlite://$DATA/portal.db" "$TICKETS"
printf '%s\n' 'benchmark password 123' | $BIN --data-dir "$DATA" user add --email agent@bench.jp --role agent >/dev/null
TOKEN=$($BIN --data-dir "$DATA" token add --email agent@bench.jp --name bench | tail -n 1)
echo "seeded $TICKETS tickets in $(echo "$(date +%s.%N) - $started" | bc) s"

started=$(date +%s.%N)
RUST_LOG=info $BIN --data-dir "$DATA" serve --addr "$ADDR" >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1200); do curl -fs "http://$ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://$ADDR/healthz" >/dev/null || { cat "$DATA/server.log"; exit 1; }
echo "portal serving after $(echo "$(date +%s.%N) - $started" | bc) s (search index built at start-up):"
grep -o 'ticket search index rebuilt.*' "$DATA/server.log" | sed 's/\x1b\[[0-9;]*m//g' || true
echo "database: $(du -sh "$DATA" | cut -f1) (index: $(sqlite3 "$DATA/portal.db" "SELECT printf('%.1f MB', SUM(pgsize) / 1e6) FROM dbstat WHERE name LIKE 'ticket_search%'" 2>/dev/null || echo '?'))"
echo
echo "== $ROUNDS requests per query, one at a time ($PROFILE build, $TICKETS tickets)"
$DIR/examples/search_bench measure "$ADDR" "$TOKEN" "$ROUNDS"
