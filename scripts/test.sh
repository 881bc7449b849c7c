#!/usr/bin/env bash
# The whole test suite: Rust unit and integration tests, then the headless-Chromium browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test
bash scripts/browser-tests.sh
