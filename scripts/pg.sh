# Sourced by run.sh and test.sh. ensure_postgres makes sure a PostgreSQL server is reachable and exports
# DATABASE_URL. If DATABASE_URL is already set it is used as is. Otherwise a private cluster
# is created (once) in .cicero/pg with the system's PostgreSQL binaries (the Debian package
# is installed when missing) and started on 127.0.0.1:${CICERO_PG_PORT:-54329}.

require_cargo() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust (https://rustup.rs) and run this again" >&2
    exit 1
  fi
}

cicero_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

pg_bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Runs a command as the postgres OS user when we are root (initdb refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "postgres: using DATABASE_URL from the environment" >&2
    return 0
  fi
  local root bin data port log
  root=$(cicero_root)
  bin=$(pg_bindir)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "postgres: no PostgreSQL binaries found; installing the Debian package" >&2
    if [ "$(id -u)" != 0 ]; then
      echo "postgres: run as root, or install postgresql yourself, or set DATABASE_URL" >&2
      return 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(pg_bindir)
  fi
  port=${CICERO_PG_PORT:-54329}
  data="$root/.cicero/pg"
  log="$root/.cicero/pg.log"
  mkdir -p "$root/.cicero"
  if [ ! -f "$data/PG_VERSION" ]; then
    echo "postgres: creating a private cluster in $data" >&2
    mkdir -p "$data"
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$root/.cicero"; fi
    as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  touch "$log"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$root/.cicero" "$log"; fi
  if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    # Already running (maybe on a port other than the default): read it from its pid file.
    port=$(sed -n 4p "$data/postmaster.pid")
  else
    # Another checkout's cluster may hold the port: take the next free one.
    while "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" >/dev/null 2>&1 || [ $? -ne 2 ]; do
      port=$((port + 1))
    done
    echo "postgres: starting the private cluster on 127.0.0.1:$port" >&2
    as_pg "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  fi
  if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'cicero'" | grep -q 1; then
    "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE cicero" >/dev/null
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/cicero"
  # pg_dump must match the server's major version: use the same installation's.
  export PG_DUMP="${PG_DUMP:-$bin/pg_dump}"
}

# Drops databases left behind by integration tests that failed before cleaning up.
drop_stale_test_databases() {
  local psql_bin admin
  psql_bin="$(pg_bindir)/psql"
  [ -x "$psql_bin" ] || psql_bin=$(command -v psql || true)
  [ -n "$psql_bin" ] || return 0
  admin="${DATABASE_URL%/*}/postgres"
  "$psql_bin" "$admin" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'cicero\_t\_%'" 2>/dev/null |
    while read -r db; do
      if [ -n "$db" ]; then
        "$psql_bin" "$admin" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
      fi
    done || true
  return 0
}

# Answers 0 when a Redis server at host $1 port $2 replies to PING.
redis_pings() {
  local reply=""
  { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 2 reply <&3 || true
  exec 3>&- 3<&-
  [ "${reply%$'\r'}" = "+PONG" ]
}

# Makes sure a Redis server answers at REDIS_URL (default redis://127.0.0.1:6379) and exports
# REDIS_URL. A server already running there is used as is; otherwise redis-server is started
# (installed from the Debian package when missing), without persistence, logging to .cicero/.
ensure_redis() {
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
  local hostport host port root
  hostport="${REDIS_URL#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
  host="${hostport%%:*}"; port="${hostport##*:}"
  [ "$port" = "$hostport" ] && port=6379
  if redis_pings "$host" "$port"; then
    echo "redis: using the server at $host:$port" >&2
    return 0
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "redis: no server at $host:$port and no redis-server; installing the Debian package" >&2
    if [ "$(id -u)" != 0 ]; then
      echo "redis: run as root, or install redis-server yourself, or set REDIS_URL" >&2
      return 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  root=$(cicero_root)
  mkdir -p "$root/.cicero"
  echo "redis: starting redis-server on $host:$port" >&2
  redis-server --daemonize yes --bind "$host" --port "$port" --save '' --appendonly no \
    --dir "$root/.cicero" --logfile "$root/.cicero/redis.log" >/dev/null
  for _ in $(seq 1 50); do
    redis_pings "$host" "$port" && return 0
    sleep 0.1
  done
  echo "redis: redis-server did not answer on $host:$port (see .cicero/redis.log)" >&2
  return 1
}

# The OTP tests mail through a real local SMTP server: python3 -m aiosmtpd.
ensure_aiosmtpd() {
  python3 -c 'import aiosmtpd' 2>/dev/null && return 0
  echo "aiosmtpd: installing (pip)" >&2
  python3 -m pip install -q aiosmtpd 2>/dev/null ||
    python3 -m pip install -q --break-system-packages aiosmtpd 2>/dev/null ||
    { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd >/dev/null; } ||
    { echo "aiosmtpd: could not install it (pip install aiosmtpd)" >&2; return 1; }
}
