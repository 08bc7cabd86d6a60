#!/usr/bin/env bash
# Runs the whole system (API + workers + scheduler) on this machine: PostgreSQL from
# DATABASE_URL or a private cluster (see pg.sh), migrations, offline demo data, `cicero all`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
ensure_postgres
ensure_redis

require_cargo
cargo build --release --bin cicero

# A fixed local token for the job API unless one is configured.
if [ -z "${JOB_API_TOKEN:-}" ]; then
  if [ ! -s .cicero/api-token ]; then
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > .cicero/api-token
  fi
  JOB_API_TOKEN=$(cat .cicero/api-token)
  export JOB_API_TOKEN
fi
# The dashboard API is served only with a JWT secret: keep a local one unless one is configured.
if [ -z "${JWT_SECRET:-}" ]; then
  if [ ! -s .cicero/jwt-secret ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > .cicero/jwt-secret
  fi
  JWT_SECRET=$(cat .cicero/jwt-secret)
  export JWT_SECRET
fi
export BACKUP_DIR="${BACKUP_DIR:-$PWD/backups}"
# The embedded default reads social data from the offline demo provider; set PROVIDER=rapidapi
# and RAPIDAPI_KEY to use the real accounts.
export PROVIDER="${PROVIDER:-demo}"

./target/release/cicero demo
echo "cicero: http://127.0.0.1:${PORT:-3000}/  job API token: $JOB_API_TOKEN" >&2
exec ./target/release/cicero all
