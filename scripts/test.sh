#!/usr/bin/env bash
# Runs every test: unit tests and the integration tests in tests/, against a real
# PostgreSQL (DATABASE_URL, or the private cluster of pg.sh), Redis (REDIS_URL) and aiosmtpd. Each integration test gets its
# own database, cloned from a migrated template.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
ensure_postgres
ensure_redis
ensure_aiosmtpd
drop_stale_test_databases
require_cargo
# The board's end-to-end test (tests/board_e2e.rs) drives a real headless Chromium.
if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update && apt-get install -y chromium chromium-driver
  else
    echo "chromium and chromium-driver are missing; run as root or: sudo apt-get install -y chromium chromium-driver" >&2
  fi
fi
# Build-time sqlx checks must not look at the test database (see .cargo/config.toml).
export SQLX_OFFLINE=true
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  echo "cargo-nextest not found; using cargo test" >&2
  cargo test --workspace --no-fail-fast "$@"
fi
