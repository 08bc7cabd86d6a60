#!/usr/bin/env bash
# Runs every test: unit tests and the integration tests in tests/, against a real
# PostgreSQL (DATABASE_URL, or the private cluster of pg.sh) and Redis (REDIS_URL, see
# redis.sh). Each integration test gets its own database, cloned from a migrated template.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
ensure_postgres
source scripts/redis.sh
ensure_redis
drop_stale_test_databases
require_cargo
# Build-time sqlx checks must not look at the test database (see .cargo/config.toml).
export SQLX_OFFLINE=true
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  echo "cargo-nextest not found; using cargo test" >&2
  cargo test --workspace --no-fail-fast "$@"
fi
