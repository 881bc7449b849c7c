#!/usr/bin/env bash
# The whole test suite: Rust unit and integration tests on SQLite, the integration tests again on
# a throwaway PostgreSQL cluster (scripts/pg.sh), the schemathesis fuzz of the JSON APIs, then the
# headless-Chromium browser tests.
#
# PORTAL_TEST_SKIP_POSTGRES=1 skips the PostgreSQL half (and says so); nothing else does.
set -euo pipefail
cd "$(dirname "$0")/.."

# The tests pick the engine from this variable: the SQLite half must not inherit one.
unset PORTAL_TEST_DATABASE_URL

# tests/mail.rs talks to a real SMTP server: Python's aiosmtpd (Debian's python3-aiosmtpd, or
# PyPI's aiosmtpd when not root).
if ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null && ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian's python3-aiosmtpd for the mail tests"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd >/dev/null
  else
    python3 -m pip install --user --quiet aiosmtpd
  fi
fi

started=$SECONDS
cargo test
sqlite_s=$((SECONDS - started))
echo "== cargo test ran on SQLite in ${sqlite_s} s"

if [ "${PORTAL_TEST_SKIP_POSTGRES:-}" = 1 ]; then
  echo "!! ======================================================================" >&2
  echo "!! PORTAL_TEST_SKIP_POSTGRES=1: the integration tests did NOT run on PostgreSQL" >&2
  echo "!! ======================================================================" >&2
else
  trap 'bash scripts/pg.sh stop' EXIT
  url=$(bash scripts/pg.sh start)
  started=$SECONDS
  # PORTAL_TEST_PG_CTL lets tests/replicas.rs stop and start this cluster (test binaries run
  # one at a time, so no other binary sees that outage).
  PORTAL_TEST_DATABASE_URL=$url PORTAL_TEST_PG_CTL="bash $PWD/scripts/pg.sh" cargo test --tests
  postgres_s=$((SECONDS - started))
  echo "== cargo test --tests ran on PostgreSQL ($url) in ${postgres_s} s"
  bash scripts/pg.sh stop
  trap - EXIT
fi

bash scripts/api-fuzz.sh
bash scripts/browser-tests.sh
