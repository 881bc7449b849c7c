#!/usr/bin/env bash
# The whole test suite: Rust unit and integration tests, the schemathesis fuzz of the JSON APIs,
# then the headless-Chromium browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test
bash scripts/api-fuzz.sh
bash scripts/browser-tests.sh
