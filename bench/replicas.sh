#!/usr/bin/env bash
# Readers spread over several portal processes on one PostgreSQL, on 127.0.0.1 only, bounded in
# time (about three minutes with the defaults; every wait below has a limit, and the whole run is
# stopped after ten minutes): P portal processes (default 4) each hold N long-polls (default
# 10,000, so 40,000 in all), a passcode is issued on the web through the first process, and the
# script reports how soon the readers on every process saw it (from the issue's answer), memory
# per held poll, /healthz while they wait, and the LISTEN/NOTIFY lag from each process's /metrics.
# Usage: bench/replicas.sh [polls-per-process=10000] [processes=4]
set -euo pipefail
cd "$(dirname "$0")/.."

PER=${1:-10000}
PROCS=${2:-4}
TOTAL=$((PER * PROCS))
BUDGET_S=600
# Portal i listens on BASE_PORT+i, its metrics on BASE_PORT+100+i: below 32768, where the
# kernel never takes a client's source port (the holders open tens of thousands), and below
# the 20000-32767 that scripts/pg.sh picks from.
BASE_PORT=${BENCH_PORT:-19400}
CLINIC=0110113719
EMAIL=bench@clinic.example.jp
PASSWORD='benchmark password 123'

# Each held poll is one socket in a portal process and one in its holder (a client process per
# portal, so that both stay under the open-file limit, 20,000 here and not raisable).
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
LIMIT=$(ulimit -n)
# A portal keeps a tenth of its connections for pages and health checks (limits::plan), and 97
# descriptors for everything else: the most long-polls one process holds under this limit.
MOST=$(((LIMIT - 97) - (LIMIT - 97) / 10))
if [ "$PER" -gt "$MOST" ]; then
  echo "at most $MOST long-polls per process under an open-file limit of $LIMIT: use more processes" >&2
  exit 1
fi
echo "== $PROCS portal processes x $PER long-polls = $TOTAL; open-file limit $LIMIT per process; $(nproc) cores"

for i in $(seq "$PROCS"); do
  for port in $((BASE_PORT + i)) $((BASE_PORT + 100 + i)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "port $port is taken (another benchmark?): set BENCH_PORT to another base" >&2
      exit 1
    fi
  done
done

nice -n 10 cargo build --release --quiet --bin portal
# Built on its own: together with the binary, the example's dev-dependency features would
# rebuild the portal too.
nice -n 10 cargo build --release --quiet --example replicas
BIN=target/release/portal
CLIENT=target/release/examples/replicas
TMP=$(mktemp -d)
PIDS=()
STARTED_PG=no
DB=""
cleanup() {
  set +e # every step runs, whatever the one before it did
  [ -n "${WATCHDOG:-}" ] && pkill -P "$WATCHDOG" 2>/dev/null
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "$DB" ] && [ "$STARTED_PG" = no ]; then
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
  fi
  [ "$STARTED_PG" = yes ] && bash scripts/pg.sh stop >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
# The budget: a run that takes longer is stopped (and cleaned up) rather than left running.
(sleep "$BUDGET_S" && echo "replicas.sh: over its $BUDGET_S s budget, stopping" && kill -TERM $$) 2>/dev/null &
WATCHDOG=$!
disown "$WATCHDOG"
PIDS+=($WATCHDOG)

# PostgreSQL: each portal holds 8 pooled connections and a listener; commands and psql a few more.
NEED_PG=$((PROCS * 9 + 20))
if bash scripts/pg.sh url >/dev/null 2>&1; then
  ADMIN_URL=$(bash scripts/pg.sh url)
  HAVE=$(psql -qtA "$ADMIN_URL" -c "SHOW max_connections")
  [ "$HAVE" -ge "$NEED_PG" ] || { echo "the running test cluster allows $HAVE connections; $NEED_PG needed (scripts/pg.sh stop first)" >&2; exit 1; }
else
  STARTED_PG=yes
  ADMIN_URL=$(PG_MAX_CONNECTIONS=$((NEED_PG > 100 ? NEED_PG : 100)) bash scripts/pg.sh start)
fi
DB=bench_replicas_$$
psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL=${ADMIN_URL%/*}/$DB
PORTAL_PASSCODE_PEPPER=$(openssl rand -hex 32)
PORTAL_AUDIT_KEY=$(openssl rand -hex 32)
export PORTAL_PASSCODE_PEPPER PORTAL_AUDIT_KEY PORTAL_DATA_DIR=$TMP/data

# Seeding. The clinic, its admin and one reader through the command line; the other readers
# (two polls each, the most a reader may hold) straight into the table, as `reader add` writes
# them (a token's SHA-256), because 20,000 commands would take minutes. Each process loads every
# reader's token at start.
$BIN clinic add --code $CLINIC --name "Replica clinic" >/dev/null
printf '%s\n' "$PASSWORD" | $BIN user add --email $EMAIL --role clinic-admin --clinic $CLINIC >/dev/null
$BIN reader add --clinic $CLINIC --name cli-reader | tail -n 1 >"$TMP/tokens"
READERS=$((TOTAL / 2))
SEED_START=$SECONDS
psql -q "$DATABASE_URL" -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE TEMP TABLE seeded AS
  SELECT i, 'rdr_' || md5(random()::text || i) || md5(i || random()::text) AS token
  FROM generate_series(1, $((READERS - 1))) AS i;
INSERT INTO readers (clinic_id, name, install_type, token_hash, enrolled_at)
  SELECT (SELECT id FROM clinics WHERE code = '$CLINIC'), 'bench-' || i, 'standalone',
         sha256(convert_to(token, 'UTF8')), extract(epoch FROM now())::bigint
  FROM seeded;
\copy (SELECT token FROM seeded ORDER BY i) TO '$TMP/seeded'
SQL
cat "$TMP/seeded" >>"$TMP/tokens"
echo "enrolled $(wc -l <"$TMP/tokens") readers in $((SECONDS - SEED_START)) s (1 by the command line)"
# Each process gets readers of its own: a reader's two-poll cap is counted per process.
split -n "l/$PROCS" -d -a 3 "$TMP/tokens" "$TMP/tokens."

# The processes, each with its metrics listener.
for i in $(seq "$PROCS"); do
  port=$((BASE_PORT + i))
  RUST_LOG=warn $BIN serve --addr "127.0.0.1:$port" --metrics-addr "127.0.0.1:$((BASE_PORT + 100 + i))" \
    --max-long-polls $((PER + 100)) >"$TMP/portal-$i.log" 2>&1 &
  PIDS+=($!)
  PORTAL[i]=$!
done
for i in $(seq "$PROCS"); do
  ready=no
  for _ in $(seq 300); do
    curl -fs -o /dev/null "http://127.0.0.1:$((BASE_PORT + i))/readyz" && { ready=yes; break; }
    sleep 0.1
  done
  [ $ready = yes ] || { echo "process $i did not become ready" >&2; tail "$TMP/portal-$i.log" >&2; exit 1; }
done
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; } # kB
for i in $(seq "$PROCS"); do RSS_START[i]=$(rss "${PORTAL[i]}"); done
echo "processes ready; RSS at start $(for i in $(seq "$PROCS"); do printf '%s ' "$((RSS_START[i] / 1024)) MB"; done)"

metric() { # process metric-name: one value from that process's /metrics
  curl -s "http://127.0.0.1:$((BASE_PORT + 100 + $1))/metrics" | awk -v m="$2" '$1 == m { print $2; exit }'
}

# Before the holders: what this run needs (about 22 kB per poll in a portal and 24 kB in its
# holder, measured) must fit in what the machine has free, with 4 GB left for everyone else.
NEED_KB=$((TOTAL * 46))
FREE_KB=$(awk '/MemAvailable/{print $2}' /proc/meminfo)
if [ "$NEED_KB" -gt $((FREE_KB - 4 * 1024 * 1024)) ]; then
  echo "about $((NEED_KB / 1024)) MB needed for $TOTAL polls, $((FREE_KB / 1024)) MB available: not starting" >&2
  exit 1
fi

# Connections the kernel dropped because a listen queue was full (nstat, from iproute2).
overflows() { nstat -az TcpExtListenOverflows 2>/dev/null | awk '/ListenOverflows/ { print $2; exit }' | grep . || echo 0; }
OVERFLOWS_BEFORE=$(overflows)

# Holders: one client process per portal, PER polls each, two per reader.
# Each holder opens 2,000 connections a second. Opening must end well within the 60 s wait:
# past it the first polls answer 304 and are sent again while the last are still opening
# (a ramp at 2,500 a second in all did worse at 100,000; see performance.md).
RAMP=$((PER / 2000 + 5))
DEADLINE=$((RAMP + 150))
for i in $(seq "$PROCS"); do
  $CLIENT hold "127.0.0.1:$((BASE_PORT + i))" "$TMP/tokens.$(printf '%03d' $((i - 1)))" "$PER" "$RAMP" "$DEADLINE" \
    "$TMP/seen-$i" >"$TMP/holder-$i.log" 2>&1 &
  PIDS+=($!)
  HOLDER[i]=$!
done
HOLD_START=$SECONDS
while :; do
  held=0
  for i in $(seq "$PROCS"); do
    h=$(metric "$i" portal_long_polls_held)
    held=$((held + ${h:-0}))
  done
  # All of them, or (once the ramp is over) all but the few between a 304 and their next poll.
  [ "$held" -ge "$TOTAL" ] && break
  [ $((SECONDS - HOLD_START)) -gt "$RAMP" ] && [ "$held" -ge $((TOTAL - TOTAL / 200)) ] && break
  if [ "$(awk '/MemAvailable/{print $2}' /proc/meminfo)" -lt $((2 * 1024 * 1024)) ]; then
    echo "stopping: under 2 GB of memory left with $held long-polls held" >&2
    exit 1
  fi
  if [ $((SECONDS - HOLD_START)) -gt $((RAMP + 60)) ]; then
    echo "warning: only $held of $TOTAL long-polls held after $((SECONDS - HOLD_START)) s; measuring those"
    break
  fi
  sleep 1
done
sleep 2
echo "kernel: $(grep '^TCP:' /proc/net/sockstat) (mem in pages); listen-queue overflows while opening: $(($(overflows) - OVERFLOWS_BEFORE)) (machine-wide)"
echo "long-polls held: $(for i in $(seq "$PROCS"); do printf '%s ' "$(metric "$i" portal_long_polls_held)"; done)(per process), $((SECONDS - HOLD_START)) s to open them"

# Memory per held poll: each process's growth over the polls it holds.
GROWTH=0
HELD_ALL=0
for i in $(seq "$PROCS"); do
  now=$(rss "${PORTAL[i]}")
  held=$(metric "$i" portal_long_polls_held)
  GROWTH=$((GROWTH + now - RSS_START[i]))
  HELD_ALL=$((HELD_ALL + held))
  printf 'process %d: RSS %d MB with %d polls held (+%d MB)\n' "$i" $((now / 1024)) "$held" $(((now - RSS_START[i]) / 1024))
done
awk -v g="$GROWTH" -v n="$HELD_ALL" 'BEGIN { printf "memory per held poll: %.1f kB (RSS growth of all processes / polls held)\n", g * 1024 / n / 1000 }'
echo "holder RSS: $(for i in $(seq "$PROCS"); do printf '%s ' "$(($(rss "${HOLDER[i]}") / 1024)) MB"; done)"

# /healthz while they wait: 200 sequential requests spread over the processes, slowest first.
for n in $(seq 200); do
  curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$((BASE_PORT + 1 + n % PROCS))/healthz"
done | sort -rn >"$TMP/health"
awk '{ a[NR] = $1 } END { printf "/healthz while held: p50 %.1f ms, p99 %.1f ms, max %.1f ms (200 requests over the processes)\n", a[int(NR/2)]*1000, a[3]*1000, a[1]*1000 }' "$TMP/health"

# The notification-lag histogram before the rotation, to count only what it adds.
lag() { # process: "le count" lines, then "sum S" and "count N"
  curl -s "http://127.0.0.1:$((BASE_PORT + 100 + $1))/metrics" | awk '
    /^portal_notification_lag_seconds_bucket/ { match($1, /le="[^"]*"/); print substr($1, RSTART + 4, RLENGTH - 5), $2 }
    $1 == "portal_notification_lag_seconds_sum" { print "sum", $2 }
    $1 == "portal_notification_lag_seconds_count" { print "count", $2 }'
}
for i in $(seq "$PROCS"); do lag "$i" >"$TMP/lag-before-$i"; done

ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; } # user + system clock ticks
for i in $(seq "$PROCS"); do
  CPU_P[i]=$(ticks "${PORTAL[i]}")
  CPU_H[i]=$(ticks "${HOLDER[i]}")
done

echo "== a passcode issued on the web through process 1"
read -r SENT ANSWERED < <($CLIENT issue "127.0.0.1:$((BASE_PORT + 1))" $EMAIL "$PASSWORD" $CLINIC)
awk -v s="$SENT" -v a="$ANSWERED" 'BEGIN { printf "issue request (argon2id, transaction, NOTIFY, this process'"'"'s fan-out): %.1f ms\n", (a - s) / 1e6 }'
PORTAL_CPU=0
HOLDER_CPU=0
for i in $(seq "$PROCS"); do
  wait "${HOLDER[i]}" || true
  PORTAL_CPU=$((PORTAL_CPU + $(ticks "${PORTAL[i]}") - CPU_P[i]))
  HOLDER_CPU=$((HOLDER_CPU + $(awk '/cpu ticks/{print $NF}' "$TMP/holder-$i.log") - CPU_H[i]))
  grep -E 'saw a new generation|first error' "$TMP/holder-$i.log" | cut -c1-300
done
TICK=$(getconf CLK_TCK)
echo "CPU from the issue to the last reader: portals $((PORTAL_CPU * 1000 / TICK)) ms, holders $((HOLDER_CPU * 1000 / TICK)) ms (both on the same $(nproc) cores)"

# Latency of each reader that saw the new generation, from the issue's answer (negative: before
# it, as on the issuing process, which wakes its own readers before it answers).
report() { # label files...
  local label=$1
  shift
  cat "$@" | awk -v a="$ANSWERED" -v s="$SENT" '{ print ($1 - a) / 1e6, ($1 - s) / 1e6 }' | sort -n >"$TMP/lat"
  awk -v label="$label" '{ x[NR] = $1; y[NR] = $2 } END {
    if (NR == 0) { printf "%s: no reader saw the rotation\n", label; exit }
    i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99 + 0.999); if (i99 > NR) i99 = NR
    for (k = 1; k <= NR; k++) if (x[k] <= 100) fast++
    printf "%s: %d readers; from the issue answer first %.1f ms, p50 %.1f ms, p99 %.1f ms, max %.1f ms; %.0f%% within 100 ms (from the request: p99 %.1f ms)\n",
      label, NR, x[1], x[i50], x[i99], x[NR], 100 * fast / NR, y[i99] }' "$TMP/lat"
}
report "process 1 (issued there)" "$TMP/seen-1"
OTHERS=()
for i in $(seq 2 "$PROCS"); do
  report "process $i" "$TMP/seen-$i"
  OTHERS+=("$TMP/seen-$i")
done
[ "$PROCS" -gt 1 ] && report "processes 2-$PROCS together (cross-process)" "${OTHERS[@]}"
report "every reader" "$TMP"/seen-*
SEEN=$(cat "$TMP"/seen-* | wc -l)
echo "readers that saw the new generation: $SEEN of $TOTAL"

# The lag of the rotation's notification on each process (histogram difference).
for i in $(seq 2 "$PROCS"); do
  lag "$i" >"$TMP/lag-after-$i"
  awk -v i="$i" 'NR == FNR { before[$1] = $2; next } { d[$1] = $2 - before[$1]; if ($1 != "sum" && $1 != "count") order[++n] = $1 } END {
    c = d["count"]; if (c == 0) { printf "process %d: no notification heard\n", i; exit }
    for (k = 1; k <= n; k++) if (d[order[k]] >= c) { le = order[k]; break }
    printf "process %d: %d notification(s), mean lag %.2f ms, all within %s s (portal_notification_lag_seconds)\n", i, c, 1000 * d["sum"] / c, le }' \
    "$TMP/lag-before-$i" "$TMP/lag-after-$i"
done
for i in $(seq "$PROCS"); do
  printf 'process %d: portal_rotation_fanout_seconds count %s, sum %s s\n' "$i" "$(metric "$i" portal_rotation_fanout_seconds_count)" "$(metric "$i" portal_rotation_fanout_seconds_sum)"
done
for i in $(seq "$PROCS"); do
  warnings=$(grep -c -E 'WARN|ERROR' "$TMP/portal-$i.log" || true)
  [ "$warnings" = 0 ] || echo "process $i logged $warnings warnings; the first: $(grep -m1 -E 'WARN|ERROR' "$TMP/portal-$i.log" | cut -c1-240)"
done
echo "done in $SECONDS s"
