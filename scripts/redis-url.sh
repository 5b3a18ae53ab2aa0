#!/usr/bin/env bash
# Print the REDIS_URL `make run` and `make test` use (limits, cache and jobs shared by
# every worker), as database-url.sh does for PostgreSQL:
#  1. $REDIS_URL when set;
#  2. else the Redis answering on 127.0.0.1:6379;
#  3. else a local redis-server on 127.0.0.1:6380 (data in var/redis), started here.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${REDIS_URL:-}" ]; then echo "$REDIS_URL"; exit 0; fi
ping() {  # PING over a plain TCP socket: no client needed
  exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  local answer; read -r -t 2 answer <&3 || answer=""
  exec 3>&-
  [[ "$answer" == +PONG* ]]
}
if ping 6379; then echo "redis://127.0.0.1:6379/0"; exit 0; fi
if ! ping 6380; then
  command -v redis-server >/dev/null || { echo "no Redis answers and redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
  mkdir -p var/redis
  redis-server --port 6380 --bind 127.0.0.1 --dir "$PWD/var/redis" --daemonize yes \
    --logfile "$PWD/var/redis/redis.log" >/dev/null
  for _ in $(seq 50); do ping 6380 && break; sleep 0.1; done
fi
echo "redis://127.0.0.1:6380/0"
