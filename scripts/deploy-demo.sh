#!/usr/bin/env bash
# The deployment of docs/deploy.md, on 127.0.0.1 only, in about a minute: a throwaway PostgreSQL
# (scripts/pg.sh), two portal processes with the same secrets, and nginx (deploy/nginx.conf, with
# its CHANGE lines rewritten) in front of them over TLS. Everything below goes through nginx the
# way a browser and a card reader would: first-run setup, a sign-in with CSRF, a passcode issued
# on the web, readers' long-polls woken on whichever process holds them, a code checked by the
# reader API, a rotation from the command line. Then it shows that both processes served.
# Prints each step; exits 0 when every check held, 1 with the failed check otherwise. Cleans up.
# Usage: scripts/deploy-demo.sh   (as root when nginx or postgresql must be installed)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() {
  printf '\nFAILED: %s\n' "$*" >&2
  for log in "$TMP"/portal-a.log "$TMP"/portal-b.log "$TMP"/nginx-error.log "$TMP"/access.log; do
    [ -s "$log" ] && { printf -- '--- last lines of %s\n' "$log" >&2; tail -n 15 "$log" >&2; }
  done
  exit 1
}

# free_port
. scripts/lib/free-port.sh

wait_for() { # url [curl options...]: until it answers 200, at most 10 s
  local url=$1
  shift
  for _ in $(seq 100); do
    curl -fs -o /dev/null "$@" "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

TMP=$(mktemp -d)
chmod 755 "$TMP" # nginx's workers run as www-data
PIDS=()
STARTED_PG=no
DB=""
cleanup() {
  local code=$?
  set +e # every step runs, whatever the one before it did
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$DB" ] && [ "$STARTED_PG" = no ]; then
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS ${DB}_restored" >/dev/null 2>&1 || true
  fi
  [ "$STARTED_PG" = yes ] && bash scripts/pg.sh stop >/dev/null 2>&1
  rm -rf "$TMP"
  [ "$code" = 0 ] && printf '\ndeploy demo: every check passed; everything it started is stopped\n'
  exit "$code"
}
trap cleanup EXIT

step "prerequisites: the release binary, nginx, PostgreSQL"
nice -n 10 cargo build --release --quiet --bin portal
BIN=$ROOT/target/release/portal
if ! command -v nginx >/dev/null; then
  [ "$(id -u)" = 0 ] || fail "nginx is missing: sudo apt-get install nginx"
  echo "   installing Debian's nginx"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi
ok "$(nginx -v 2>&1)"
# A cluster of our own when none runs in target/pg; otherwise a database of our own in it.
if bash scripts/pg.sh url >/dev/null 2>&1; then
  ADMIN_URL=$(bash scripts/pg.sh url)
else
  STARTED_PG=yes
  ADMIN_URL=$(bash scripts/pg.sh start) || fail "scripts/pg.sh could not start PostgreSQL"
fi
DB=deploy_demo_$$
psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null || fail "cannot create database $DB"
export DATABASE_URL=${ADMIN_URL%/*}/$DB
ok "PostgreSQL database $DATABASE_URL"

step "shared secrets: one pepper and one audit key for every process (and the command line)"
PORTAL_PASSCODE_PEPPER=$(openssl rand -hex 32)
PORTAL_AUDIT_KEY=$(openssl rand -hex 32)
export PORTAL_PASSCODE_PEPPER PORTAL_AUDIT_KEY
export PORTAL_DATA_DIR=$TMP/data # nothing is kept there on PostgreSQL
ok "PORTAL_PASSCODE_PEPPER and PORTAL_AUDIT_KEY: 64 random hex characters each"

NGINX_PORT=$(free_port)
NGINX_HTTP_PORT=$(free_port)
PUBLIC=https://127.0.0.1:$NGINX_PORT
# nginx connects to the portals from 127.0.0.2, the one address they trust for X-Forwarded-For;
# the demo's own requests come from 127.0.0.1, as a client on another machine would.
PROXY_ADDR=127.0.0.2

step "two portal processes on one database (migrations run once, under sqlx's advisory lock)"
PORT_A=$(free_port)
PORT_B=$(free_port)
METRICS_A=$(free_port)
METRICS_B=$(free_port)
for p in a b; do
  if [ $p = a ]; then port=$PORT_A metrics=$METRICS_A; else port=$PORT_B metrics=$METRICS_B; fi
  "$BIN" serve --addr "127.0.0.1:$port" --public-url "$PUBLIC" --trusted-proxy "$PROXY_ADDR" \
    --metrics-addr "127.0.0.1:$metrics" >"$TMP/portal-$p.log" 2>&1 &
  PIDS+=($!)
done
for port in $PORT_A $PORT_B; do
  wait_for "http://127.0.0.1:$port/readyz" || fail "the portal on port $port did not become ready"
done
ok "process A on 127.0.0.1:$PORT_A (metrics :$METRICS_A), process B on 127.0.0.1:$PORT_B (metrics :$METRICS_B): /readyz 200"
MIGRATED=$(psql -qtA "$DATABASE_URL" -c "SELECT count(*) FROM _sqlx_migrations")
ok "$MIGRATED migrations applied, each once"

step "nginx from deploy/nginx.conf, over TLS on 127.0.0.1:$NGINX_PORT"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
# Rewrite exactly the lines the template marks CHANGE (and its paths): a line it no longer has
# fails here instead of leaving a config that looks right.
rewrite() { # pattern replacement
  grep -qF -- "$1" "$TMP/nginx.conf" || fail "deploy/nginx.conf has no line with: $1"
  PATTERN=$1 REPLACEMENT=$2 perl -0pi -e 's/^(\s*)\Q$ENV{PATTERN}\E.*$/$1$ENV{REPLACEMENT}/m' "$TMP/nginx.conf"
}
cp deploy/nginx.conf "$TMP/nginx.conf"
rewrite "pid /run/nginx.pid;" "pid $TMP/nginx.pid;"
rewrite "error_log /var/log/nginx/error.log" "error_log $TMP/nginx-error.log warn;"
rewrite "access_log /var/log/nginx/portal-access.log" "access_log $TMP/access.log portal;"
rewrite "server 127.0.0.1:3001" "server 127.0.0.1:$PORT_A max_fails=2 fail_timeout=10s;"
rewrite "server 127.0.0.1:3002" "server 127.0.0.1:$PORT_B max_fails=2 fail_timeout=10s;"
rewrite "listen 80;" "listen 127.0.0.1:$NGINX_HTTP_PORT;"
rewrite "listen 443 ssl;" "listen 127.0.0.1:$NGINX_PORT ssl;"
rewrite "ssl_certificate /etc/ssl/portal/fullchain.pem;" "ssl_certificate $TMP/cert.pem;"
rewrite "ssl_certificate_key /etc/ssl/portal/key.pem;" "ssl_certificate_key $TMP/key.pem;"
rewrite "# proxy_bind" "proxy_bind $PROXY_ADDR;"
nginx -t -q -p "$TMP" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" 2>"$TMP/nginx-test.log" ||
  { cat "$TMP/nginx-test.log" >&2; fail "nginx -t refused the generated config"; }
nginx -p "$TMP" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
CURL=(curl -sS --cacert "$TMP/cert.pem" -b "$TMP/cookies" -c "$TMP/cookies")
EXTRA=() # headers for the next post only
wait_for "$PUBLIC/healthz" --cacert "$TMP/cert.pem" || fail "nginx did not answer on $PUBLIC"
ok "$PUBLIC/healthz: $("${CURL[@]}" "$PUBLIC/healthz"); /readyz: $("${CURL[@]}" "$PUBLIC/readyz")"
REDIRECT=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NGINX_HTTP_PORT/login")
[ "$REDIRECT" = 301 ] || fail "plain HTTP answered $REDIRECT, not a redirect to https"
ok "plain HTTP redirects to https (301)"

# The value of a hidden form field in a page.
field() { # file name
  sed -n "s/.*name=\"$2\" value=\"\([^\"]*\)\".*/\1/p" "$1" | head -n 1
}
# A form post as a browser sends it: the page's CSRF token, the visitor or session cookie (the
# jar), and an Origin, which the portal compares with the Host nginx passes on.
post() { # path out-file field=value...
  local path=$1 out=$2
  shift 2
  local args=()
  for kv in "$@"; do args+=(--data-urlencode "$kv"); done
  "${CURL[@]}" "${EXTRA[@]}" -o "$out" -w '%{http_code} %{redirect_url}' -H "Origin: $PUBLIC" "${args[@]}" "$PUBLIC$path"
}

step "first-run setup on the web, with the token process B printed"
SETUP_TOKEN=$(grep -A1 'one-time setup token' "$TMP/portal-b.log" | tail -n 1 | tr -d ' ')
[ -n "$SETUP_TOKEN" ] || fail "process B printed no setup token"
"${CURL[@]}" -o "$TMP/setup.html" "$PUBLIC/setup"
CSRF=$(field "$TMP/setup.html" csrf)
[ -n "$CSRF" ] || fail "the setup page carries no CSRF token"
grep -q 'portal_csrf' "$TMP/cookies" || fail "no visitor CSRF cookie was set"
OPERATOR_PASSWORD='operator pass phrase 2026'
ANSWER=$(post /setup "$TMP/setup-done.html" "csrf=$CSRF" "setup_token=$SETUP_TOKEN" email=ops@installer.example.jp \
  "password=$OPERATOR_PASSWORD" "password_confirm=$OPERATOR_PASSWORD")
[ "${ANSWER%% *}" = 303 ] || fail "setup answered $ANSWER (expected 303)"
ok "operator ops@installer.example.jp created: setup answered $ANSWER"
for port in $PORT_A $PORT_B; do
  status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/setup")
  [ "$status" = 404 ] || fail "setup is still open on port $port ($status)"
done
ok "setup is closed on both processes (404)"

step "the command line, on the same database and secrets: a clinic, its admin, a card reader"
CLINIC=0110113719
ADMIN_EMAIL=admin@clinic.example.jp
ADMIN_PASSWORD='clinic admin pass phrase'
"$BIN" clinic add --code $CLINIC --name "デモ内科" | sed 's/^/   /'
printf '%s\n' "$ADMIN_PASSWORD" | "$BIN" user add --email $ADMIN_EMAIL --role clinic-admin --clinic $CLINIC | sed 's/^/   /'
READER=$("$BIN" reader add --clinic $CLINIC --name 受付1 | tail -n 1)
SECOND_READER=$("$BIN" reader add --clinic $CLINIC --name 受付2 | tail -n 1)
ok "two readers enrolled (device tokens kept for the polls below)"

step "sign-in through nginx: GET /login (CSRF token + visitor cookie), POST /login"
rm -f "$TMP/cookies"
"${CURL[@]}" -o "$TMP/login.html" "$PUBLIC/login"
CSRF=$(field "$TMP/login.html" csrf)
[ -n "$CSRF" ] || fail "the sign-in page carries no CSRF token"
# A made-up X-Forwarded-For from the client: nginx appends the real address, and the portal,
# trusting only nginx (127.0.0.2), takes the real one.
EXTRA=(-H "X-Forwarded-For: 203.0.113.9")
ANSWER=$(post /login "$TMP/login-done.html" "csrf=$CSRF" "email=$ADMIN_EMAIL" "password=$ADMIN_PASSWORD")
EXTRA=()
[ "${ANSWER%% *}" = 303 ] || fail "sign-in answered $ANSWER (expected 303)"
grep -q '__Host-portal_session' "$TMP/cookies" || fail "no __Host-portal_session cookie after sign-in"
ok "signed in as $ADMIN_EMAIL: $ANSWER; cookie __Host-portal_session (Secure: the public URL is https)"
SIGN_IN_IP=$(psql -qtA "$DATABASE_URL" -c "SELECT ip FROM audit_log WHERE action = 'sign_in' ORDER BY id DESC LIMIT 1")
[ "$SIGN_IN_IP" = 127.0.0.1 ] || fail "the sign-in was recorded from '$SIGN_IN_IP', not the client's 127.0.0.1"
ok "the audit log has the sign-in from 127.0.0.1 (the client), not nginx's 127.0.0.2 nor the forged 203.0.113.9"

step "readers poll through nginx and park long-polls"
poll() { # token [extra curl args]: prints "status body" of a short poll
  local token=$1
  shift
  curl -sS --cacert "$TMP/cert.pem" -D "$TMP/poll-headers" -o "$TMP/poll-body" -w '%{http_code}' \
    -H "Authorization: Bearer $token" "$@" "$PUBLIC/api/v1/reader/passcode"
  printf ' %s' "$(cat "$TMP/poll-body")"
}
generation() { sed -n 's/.*"generation":\([0-9]*\).*/\1/p' "$1"; }
ANSWER=$(poll "$READER")
[ "${ANSWER%% *}" = 200 ] || fail "the first poll answered $ANSWER"
ETAG=$(tr -d '\r' <"$TMP/poll-headers" | awk -F': ' 'tolower($1)=="etag"{print $2}')
ok "reader 受付1: $ANSWER, ETag $ETAG"
ANSWER=$(poll "$READER" -H "If-None-Match: $ETAG")
[ "${ANSWER%% *}" = 304 ] || fail "the conditional poll answered $ANSWER, not 304"
ok "conditional poll: 304"
# Three long-polls from two readers (a reader holds at most two): least_conn spreads them.
HELD=0
for token in "$READER" "$SECOND_READER" "$SECOND_READER"; do
  HELD=$((HELD + 1))
  curl -sS --cacert "$TMP/cert.pem" -o "$TMP/held-$HELD.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H "If-None-Match: $ETAG" "$PUBLIC/api/v1/reader/passcode?wait=30" >"$TMP/held-$HELD.status" &
  PIDS+=($!)
  sleep 0.2
done
WAITING=()
for _ in $(seq 50); do
  A=$(curl -s "http://127.0.0.1:$METRICS_A/metrics" | awk '$1=="portal_long_polls_held"{print $2}')
  B=$(curl -s "http://127.0.0.1:$METRICS_B/metrics" | awk '$1=="portal_long_polls_held"{print $2}')
  [ $((A + B)) -ge $HELD ] && break
  sleep 0.1
done
[ $((A + B)) -ge $HELD ] || fail "only $((A + B)) of $HELD long-polls are held (A: $A, B: $B)"
[ "$A" -ge 1 ] && [ "$B" -ge 1 ] || fail "least_conn put every long-poll on one process (A: $A, B: $B)"
ok "$HELD long-polls held (wait=30): $A on process A, $B on process B (portal_long_polls_held)"

step "a passcode issued on the web: the confirm page, then its single-use form"
"${CURL[@]}" -o "$TMP/confirm.html" "$PUBLIC/clinics/$CLINIC/passcode/issue"
CSRF=$(field "$TMP/confirm.html" csrf)
ISSUE_TOKEN=$(field "$TMP/confirm.html" issue_token)
[ -n "$CSRF" ] && [ -n "$ISSUE_TOKEN" ] || fail "the confirm page has no CSRF or issue token (signed in?)"
ANSWER=$(post "/clinics/$CLINIC/passcode" "$TMP/issued.html" "csrf=$CSRF" "issue_token=$ISSUE_TOKEN")
[ "${ANSWER%% *}" = 200 ] || fail "the issue answered $ANSWER"
CODE=$(sed -n 's/.*<span id="new-passcode">\([0-9]\{4\}\)<\/span>.*/\1/p' "$TMP/issued.html")
[ -n "$CODE" ] || fail "the issued page shows no passcode"
ok "generation 1 issued; the page shows the code once (####)"
AGAIN=$(post "/clinics/$CLINIC/passcode" "$TMP/again.html" "csrf=$CSRF" "issue_token=$ISSUE_TOKEN")
grep -q 'new-passcode' "$TMP/again.html" && fail "the same form issued a second passcode"
ok "the same form sent again issues nothing (${AGAIN%% *}, no code)"

step "every held long-poll answers with the new generation, on both processes"
for i in $(seq "$HELD"); do
  for _ in $(seq 50); do [ -s "$TMP/held-$i.status" ] && break; sleep 0.1; done
  [ "$(cat "$TMP/held-$i.status" 2>/dev/null)" = 200 ] || fail "held poll $i answered '$(cat "$TMP/held-$i.status" 2>/dev/null)'"
  [ "$(generation "$TMP/held-$i.json")" = 1 ] || fail "held poll $i saw $(cat "$TMP/held-$i.json")"
done
ok "$HELD of $HELD long-polls answered 200 with generation 1"
LOG_HELD=$(grep -c 'wait=30 .* 200 .*upstream=' "$TMP/access.log" || true)
grep 'wait=30' "$TMP/access.log" | sed -n 's/.*upstream=\([^ ]*\).*request_time=\([^ ]*\).*/   long-poll answered by \1, held \2 s/p'
[ "$LOG_HELD" -ge "$HELD" ] || fail "nginx logged $LOG_HELD answered long-polls"

step "the code works at a reader on each process (one pepper everywhere)"
for port in $PORT_A $PORT_B; do
  ANSWER=$(curl -sS -H "Authorization: Bearer $READER" -H 'Content-Type: application/json' \
    -d "{\"passcode\":\"$CODE\"}" "http://127.0.0.1:$port/api/v1/reader/verify")
  case $ANSWER in *'"ok":true'*) ;; *) fail "verification on port $port answered $ANSWER" ;; esac
done
ANSWER=$(curl -sS --cacert "$TMP/cert.pem" -H "Authorization: Bearer $READER" -H 'Content-Type: application/json' \
  -d "{\"passcode\":\"$CODE\"}" "$PUBLIC/api/v1/reader/verify")
case $ANSWER in *'"ok":true'*) ;; *) fail "verification through nginx answered $ANSWER" ;; esac
ok "accepted directly by process A, by process B, and through nginx"

step "a rotation from the command line reaches readers through NOTIFY"
ISSUED=$("$BIN" passcode issue --clinic $CLINIC) || fail "portal passcode issue failed"
echo "   ${ISSUED%%$'\n'*}"
SEEN=""
for _ in $(seq 20); do
  poll "$READER" >/dev/null
  SEEN=$(generation "$TMP/poll-body")
  [ "$SEEN" = 2 ] && break
  sleep 0.1
done
[ "$SEEN" = 2 ] || fail "readers still see generation $SEEN after the command-line rotation"
ok "a poll through nginx sees generation 2"

step "both processes served"
awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^upstream=[0-9]/) n[substr($i, 10)]++ }
     END { for (u in n) printf "   %s answered %d requests\n", u, n[u] }' "$TMP/access.log"
for port in $PORT_A $PORT_B; do
  grep -q "upstream=127.0.0.1:$port " "$TMP/access.log" || fail "nginx sent nothing to 127.0.0.1:$port"
done
for m in $METRICS_A $METRICS_B; do
  curl -s "http://127.0.0.1:$m/metrics" | awk -v m=":$m" '
    $1 ~ /^portal_reader_polls_total/ { polls += $2 }
    $1 == "portal_change_listener_up" { up = $2 }
    $1 == "portal_notification_lag_seconds_count" { n = $2 }
    $1 == "portal_notification_lag_seconds_sum" { s = $2 }
    END { printf "   metrics %s: %d reader polls, listener up %d, %d notifications heard, mean lag %.1f ms\n", m, polls, up, n, n ? 1000 * s / n : 0 }'
done
ok "nginx's access log names both upstreams"

step "backup while both run: pg_dump --format=custom; restore into an empty database with pg_restore"
pg_dump --format=custom --file="$TMP/portal.dump" "$DATABASE_URL" || fail "pg_dump failed"
RESTORED=${DB}_restored
psql -q "$ADMIN_URL" -c "CREATE DATABASE $RESTORED" >/dev/null || fail "cannot create database $RESTORED"
RESTORED_URL=${ADMIN_URL%/*}/$RESTORED
pg_restore --dbname="$RESTORED_URL" "$TMP/portal.dump" || fail "pg_restore failed"
ok "$(du -h "$TMP/portal.dump" | cut -f1) dump restored into $RESTORED"
VERIFIED=$(DATABASE_URL=$RESTORED_URL "$BIN" audit verify) || fail "the restored audit log does not verify: $VERIFIED"
ok "portal audit verify on the restored copy, same audit key: ${VERIFIED%%$'\n'*}"
if WRONG=$(DATABASE_URL=$RESTORED_URL PORTAL_AUDIT_KEY=$(openssl rand -hex 32) "$BIN" audit verify 2>&1); then
  fail "the restored audit log verified under another key"
fi
ok "under another audit key it does not: ${WRONG%%$'\n'*}"
# A process on the restored copy, with the same pepper, accepts the code issued before the dump.
PORT_R=$(free_port)
DATABASE_URL=$RESTORED_URL "$BIN" serve --addr "127.0.0.1:$PORT_R" >"$TMP/portal-restored.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$PORT_R/readyz" || fail "no portal started on the restored copy"
ANSWER=$(curl -sS -H "Authorization: Bearer $READER" -H 'Content-Type: application/json' \
  -d "{\"passcode\":\"${ISSUED##*$'\n'}\"}" "http://127.0.0.1:$PORT_R/api/v1/reader/verify")
case $ANSWER in *'"ok":true'*) ;; *) fail "the restored copy refused the current code: $ANSWER" ;; esac
ok "a portal on the restored copy accepts the current code (the pepper came along)"

step "graceful stop: SIGTERM to each portal process"
for i in 0 1; do kill -TERM "${PIDS[$i]}"; done
for i in 0 1; do
  code=0
  wait "${PIDS[$i]}" || code=$?
  [ "$code" = 0 ] || fail "portal process $((i + 1)) exited with status $code on SIGTERM"
done
grep -q 'stopped' "$TMP/portal-a.log" && grep -q 'stopped' "$TMP/portal-b.log" || fail "a process did not log 'stopped'"
ok "both exited 0 after writing their last-seen times and sealing the audit log"
