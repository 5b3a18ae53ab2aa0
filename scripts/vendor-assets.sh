#!/usr/bin/env bash
# Install the front-end libraries from the npm registry and copy the files the
# pages use into geoapp/static/vendor/ (git-ignored). No page loads from a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
npm install --no-audit --no-fund --loglevel=error
dest=geoapp/static/vendor
rm -rf "$dest"
mkdir -p "$dest/leaflet" "$dest/leaflet.fullscreen" "$dest/leaflet.markercluster"
cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
      node_modules/leaflet/dist/images "$dest/leaflet/"
cp node_modules/leaflet/LICENSE "$dest/leaflet/LICENSE"
cp node_modules/leaflet.fullscreen/Control.FullScreen.js \
   node_modules/leaflet.fullscreen/Control.FullScreen.css \
   node_modules/leaflet.fullscreen/icon-fullscreen.svg \
   node_modules/leaflet.fullscreen/LICENSE "$dest/leaflet.fullscreen/"
cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
   node_modules/leaflet.markercluster/dist/MarkerCluster.css \
   node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css \
   node_modules/leaflet.markercluster/MIT-LICENCE.txt "$dest/leaflet.markercluster/" 2>/dev/null \
  || cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
        node_modules/leaflet.markercluster/dist/MarkerCluster.css \
        node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css "$dest/leaflet.markercluster/"
mkdir -p "$dest/leaflet-draw"
cp -r node_modules/leaflet-draw/dist/leaflet.draw.js node_modules/leaflet-draw/dist/leaflet.draw.css \
      node_modules/leaflet-draw/dist/images node_modules/leaflet-draw/MIT-LICENSE.md "$dest/leaflet-draw/" 2>/dev/null \
  || cp -r node_modules/leaflet-draw/dist/leaflet.draw.js node_modules/leaflet-draw/dist/leaflet.draw.css \
        node_modules/leaflet-draw/dist/images "$dest/leaflet-draw/"
mkdir -p "$dest/leaflet.vectorgrid"
cp node_modules/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js \
   "$dest/leaflet.vectorgrid/"  # Beerware licence, stated in its package.json
echo "vendor assets in $dest"
