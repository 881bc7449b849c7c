#!/usr/bin/env bash
# Fuzzes the JSON APIs from their own OpenAPI document with schemathesis (valid and invalid
# inputs generated from the schema). Fails on any 5xx, on a status code, content type, header or
# body the document does not declare, on an operation that works without its token, and on a
# method that is not refused properly. Part of scripts/test.sh.
#
# Usage: scripts/api-fuzz.sh [--max-examples N]   (default 60 per operation)
# Needs python3 with venv; schemathesis is installed from PyPI into target/api-fuzz-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

examples=60
if [[ "${1:-}" == "--max-examples" ]]; then examples="$2"; fi

venv=target/api-fuzz-venv
schemathesis_version=4.32.5
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$schemathesis_version"; then
  echo "== installing schemathesis $schemathesis_version into $venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian splits venv out of python3.
    if [[ $(id -u) -eq 0 ]]; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$venv"
    else
      echo "python3 -m venv failed: install python3-venv" >&2
      exit 1
    fi
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

cargo build --quiet --bin portal
bin=target/debug/portal
data=$(mktemp -d)
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

# A clinic with a reader, an agent with an API token, and one ticket for the path parameters.
portal() { "$bin" --data-dir "$data" "$@"; }
portal clinic add --code 0110113719 --name "さくら内科クリニック" >/dev/null
echo "fuzz agent password" | portal user add --email agent@installer.jp --role agent >/dev/null
api_token=$(portal token add --email agent@installer.jp --name fuzz | tail -n 1)
reader_token=$(portal reader add --clinic 0110113719 --name "受付1" | tail -n 1)
portal passcode issue --clinic 0110113719 >/dev/null

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
RUST_LOG=warn "$bin" --data-dir "$data" serve --addr "127.0.0.1:$port" >"$data/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$base/api/v1/tickets" -H "Authorization: Bearer $api_token" -H "Content-Type: application/json" \
  -d '{"clinic_code": "0110113719", "summary": "fuzz seed ticket"}' >/dev/null

# negative_data_rejection is left out: it counts 413 (body too large) as accepting bad input, and
# positive_data_acceptance cannot know which clinic codes and e-mail addresses exist.
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
checks+=,response_headers_conformance,ignored_auth,unsupported_method,allow_header_conformance,missing_required_header

# Each API with its own token. Long-polls are capped at 2 s (wait is 1–60) to bound the run.
run() {
  "$venv/bin/schemathesis" run "$base/api/v1/openapi.json" \
    --checks "${CHECKS:-$checks}" --max-examples "$examples" --seed 20261126 \
    --phases examples,coverage,fuzzing --request-timeout 70 \
    --suppress-health-check too_slow,filter_too_much --warnings off --output-truncate true "$@"
}
echo "== schemathesis: ticket API"
run --include-path-regex '^/api/v1/tickets' -H "Authorization: Bearer $api_token"
echo "== schemathesis: reader API"
run --include-path-regex '^/api/v1/reader' -H "Authorization: Bearer $reader_token"

# The runs must have got past authentication: the fuzz created tickets and spent the reader's tries.
total=$(curl -fsS "$base/api/v1/tickets?per_page=1" -H "Authorization: Bearer $api_token" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["total"])')
verify=$(curl -sS -o /dev/null -w '%{http_code}' "$base/api/v1/reader/verify" -H "Authorization: Bearer $reader_token" \
  -H "Content-Type: application/json" -d '{"passcode": "0000"}')
echo "tickets after the fuzz: $total; a further wrong passcode answers $verify"
if [[ "$total" -lt 10 ]]; then
  echo "the ticket fuzz hardly created anything: is the API token accepted?" >&2
  exit 1
fi

if grep -q "panicked" "$data/server.log"; then
  echo "the portal panicked during the fuzz run:" >&2
  grep -A5 "panicked" "$data/server.log" >&2
  exit 1
fi
echo "api fuzz: no server errors"
