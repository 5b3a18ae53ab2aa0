#!/usr/bin/env bash
# Debian packages geoapp needs: PostGIS for the database, Redis for limits and jobs, Chromium for the
# browser tests and the minutes' PDF (DejaVu for its Cyrillic), GDAL's ogr2ogr
# as the benchmarks' anchor, Node for the assets, nginx and openssl for the tested
# deployment in deploy/ (TLS in front of gunicorn).
# As root, installs what is missing; otherwise prints the one command to run.
set -euo pipefail
want=(postgresql-15-postgis-3 redis-server chromium fonts-dejavu-core gdal-bin nodejs npm nginx openssl)
missing=()
for pkg in "${want[@]}"; do
  if [ "$pkg" = nodejs ] || [ "$pkg" = npm ]; then
    command -v "${pkg/nodejs/node}" >/dev/null 2>&1 && continue
  fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing Debian packages. Run:  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
