#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, in target/pg (issue 10).
#
#   scripts/pg.sh start   initdb on first use, start (idempotent), print the URL
#   scripts/pg.sh url     print the URL of the running cluster (exit 1 when stopped)
#   scripts/pg.sh status  say whether it runs
#   scripts/pg.sh stop    stop it and delete its data (idempotent)
#   scripts/pg.sh pause   stop the server but keep its data and port (an outage, for tests)
#   scripts/pg.sh resume  start a paused server again on the same port
#   scripts/pg.sh restart pause, then resume
#
# The URL is a superuser on a trust-authenticated 127.0.0.1 port, so tests may create databases:
#   PORTAL_TEST_DATABASE_URL=$(scripts/pg.sh start) cargo test --test schema_parity
# Tests that take the server down and bring it back (tests/replicas.rs) run pause and resume:
#   PORTAL_TEST_PG_CTL="bash $PWD/scripts/pg.sh" cargo test --test replicas
# PG_MAX_CONNECTIONS (default 100, PostgreSQL's own) sizes the server for benchmarks that run many
# portal processes: each holds 8 pooled connections and one listener.
# Installs Debian's postgresql when missing (run as root, as the browser tests do for Chromium).
# The server refuses to run as root: as root the cluster belongs to the `postgres` user.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=$PWD/target/pg
DATA=$DIR/data
PORT_FILE=$DIR/port

bindir() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$found" ] || [ ! -x "$found/initdb" ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "installing Debian's postgresql for the PostgreSQL tests" >&2
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    else
      echo "the PostgreSQL tests need Debian's postgresql: sudo apt-get install postgresql" >&2
      exit 1
    fi
  fi
  echo "$found"
}

# Runs a server binary as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# free_port
. scripts/lib/free-port.sh

running() {
  [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

url() {
  echo "postgres://postgres@127.0.0.1:$(cat "$PORT_FILE")/postgres"
}

start() {
  if running; then
    url
    return
  fi
  mkdir -p "$DIR"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"
    mkdir -p "$DATA"
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$DIR" "$DATA"
      if ! runuser -u postgres -- test -w "$DATA"; then
        echo "the postgres user cannot reach $DATA: every directory above it needs o+x" >&2
        exit 1
      fi
    fi
    # A UTF-8 ctype: under LC_CTYPE=C pg_trgm drops every non-ASCII character, so Japanese
    # search would find nothing. Superuser `postgres`, trust on the local port only.
    as_owner "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
      { cat "$DIR/initdb.log" >&2; exit 1; }
  fi
  local port
  # A paused cluster comes back on its port, so URLs handed out before still work.
  if [ -f "$PORT_FILE" ]; then
    port=$(cat "$PORT_FILE")
  else
    port=$(free_port)
    echo "$port" >"$PORT_FILE"
  fi
  # fsync off: a test cluster need not survive a power cut. The socket lives beside the data.
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" \
    -o "-p $port -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=${PG_MAX_CONNECTIONS:-100}" \
    -w start >/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
  url
}

stop() {
  if running; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  fi
  rm -rf "$DIR"
}

# Stops the server (fast: open connections are ended, as in a real restart), keeping the data.
pause() {
  if running; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  fi
}

resume() {
  if [ ! -f "$DATA/PG_VERSION" ] || [ ! -f "$PORT_FILE" ]; then
    echo "no paused test cluster (scripts/pg.sh start)" >&2
    exit 1
  fi
  start >/dev/null
}

BIN=$(bindir)
case "${1:-}" in
  start) start ;;
  stop) stop ;;
  pause) pause ;;
  resume) resume ;;
  restart) pause && resume ;;
  url) running && url || { echo "no test cluster runs (scripts/pg.sh start)" >&2; exit 1; } ;;
  status) running && echo "running at $(url)" || echo "stopped" ;;
  *) echo "usage: scripts/pg.sh start|url|status|stop|pause|resume|restart" >&2; exit 2 ;;
esac
