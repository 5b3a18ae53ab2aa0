#!/usr/bin/env bash
# Print the DATABASE_URL `make run` and `make test` use.
#  1. $DATABASE_URL when set;
#  2. else the PostgreSQL answering on 127.0.0.1:5432 (user postgres);
#  3. else a local PostGIS cluster in var/postgres on port 5433, started here.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${DATABASE_URL:-}" ]; then echo "$DATABASE_URL"; exit 0; fi
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "postgresql+psycopg://postgres@127.0.0.1:5432/geoapp"; exit 0
fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "no PostgreSQL server binaries; install postgresql-15-postgis-3" >&2; exit 1; }
data="$PWD/var/postgres"
as=()
[ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
if [ ! -s "$data/PG_VERSION" ]; then
  mkdir -p "$data"; [ "$(id -u)" -eq 0 ] && chown postgres "$data"
  "${as[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
fi
if ! pg_isready -q -h 127.0.0.1 -p 5433 2>/dev/null; then
  "${as[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p 5433 -k $data -c listen_addresses=127.0.0.1" start >/dev/null
fi
echo "postgresql+psycopg://postgres@127.0.0.1:5433/geoapp"
