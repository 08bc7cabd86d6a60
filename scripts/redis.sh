# Sourced by test.sh. ensure_redis makes sure a Redis server answers at REDIS_URL (default
# redis://127.0.0.1:6379), which the dashboard API and its tests need: if none answers it
# installs redis-server when missing (Debian packages) and starts a private one without
# persistence.
ensure_redis() {
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
  if ! command -v redis-cli >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1; then
    echo "redis-server not found; installing it (apt-get)" >&2
    if [ "$(id -u)" -eq 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
  fi
  if redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
    return 0
  fi
  local hostport port dir
  hostport="${REDIS_URL#redis://}"
  hostport="${hostport%%/*}"
  port="${hostport##*:}"
  dir="$(cicero_root)/.cicero/redis"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$dir" --logfile "$dir/redis.log" >/dev/null
  for _ in $(seq 1 50); do
    redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "Redis did not start at $REDIS_URL (see $dir/redis.log)" >&2
  return 1
}
