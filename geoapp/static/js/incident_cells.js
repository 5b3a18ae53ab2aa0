/* Incident cells on a community map: a period, group and cell-size filter, a legend with
 * the class breaks, and (for analysts) individual incidents.  Everything shown comes from
 * the layer API, which decides what the caller may see; popups are built from text nodes,
 * never from HTML. */
(function () {
  "use strict";
  var form = document.getElementById("incident-filter");
  if (!form) { return; }
  var cfg = form.dataset;
  var colours = JSON.parse(cfg.colours);
  var status = document.getElementById("incident-status");
  var cells = null, points = null, legend = null, fitted = false;
  var fmt = new Intl.NumberFormat(document.documentElement.lang === "en" ? "en-GB" : "uk-UA");

  function query() {
    var params = new URLSearchParams(new FormData(form));
    Array.from(params.keys()).forEach(function (k) { if (!params.get(k)) { params.delete(k); } });
    return params.toString();
  }

  function classOf(count, breaks) {
    var index = 0;
    for (var n = 0; n < breaks.length; n++) { if (count >= breaks[n]) { index = n; } }
    return Math.min(index, colours.length - 1);
  }

  function popup(props) {
    var box = document.createElement("div");
    var strong = document.createElement("strong");
    strong.textContent = props.suppressed ? cfg.lWithheld : cfg.lCount + ": " + fmt.format(props.count);
    box.appendChild(strong);
    box.appendChild(document.createElement("br"));
    box.appendChild(document.createTextNode(props.period + " · " + props.cell_size_m + " m"));
    return box;
  }

  function drawLegend(map, meta) {
    if (legend) { legend.remove(); }
    legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "legend");
      div.setAttribute("data-testid", "legend");
      var title = document.createElement("strong");
      var chosen = form.elements.period.selectedOptions[0];
      title.textContent = cfg.lLegend + " (" + (chosen ? chosen.text : meta.period) + ")";
      div.appendChild(title);
      var breaks = meta.breaks || [];
      breaks.forEach(function (from, n) {
        var next = breaks[n + 1];
        var label = next === undefined ? "≥ " + fmt.format(from)
          : fmt.format(from) + (next - 1 > from ? "–" + fmt.format(next - 1) : "");
        div.appendChild(row(colours[Math.min(n, colours.length - 1)], label));
      });
      if (!meta.exact_counts) {
        div.appendChild(row(cfg.withheldColour, cfg.lWithheldKey));
      }
      var total = document.createElement("div");
      total.className = "legend-total";
      total.textContent = cfg.lTotal + ": " +
        (meta.total.count === null ? cfg.lWithheld : fmt.format(meta.total.count));
      div.appendChild(total);
      return div;
    };
    legend.addTo(map);
  }

  function row(colour, label) {
    var line = document.createElement("div");
    var swatch = document.createElement("i");
    swatch.style.background = colour;
    line.appendChild(swatch);
    line.appendChild(document.createTextNode(label));
    return line;
  }

  function load() {
    var handle = window.geoappMap;
    if (!handle) { return; }
    status.textContent = cfg.lLoading;
    fetch(cfg.url + "?" + query(), {credentials: cfg.credentials})
      .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
      .then(function (result) {
        if (!result[0]) {
          if (cells) { handle.layers.removeLayer(cells); cells.remove(); cells = null; }
          if (legend) { legend.remove(); legend = null; }
          status.textContent = result[1].detail || cfg.lError;
          return;
        }
        var body = result[1], meta = body.metadata;
        if (cells) { handle.layers.removeLayer(cells); cells.remove(); }
        cells = L.geoJSON(body, {
          style: function (f) {
            var p = f.properties;
            return {color: cfg.outline, weight: 1, fillOpacity: Number(cfg.opacity),
                    dashArray: p.suppressed ? "3" : null,
                    fillColor: p.suppressed ? cfg.withheldColour : colours[classOf(p.count, meta.breaks)]};
          },
          onEachFeature: function (f, layer) { layer.bindPopup(popup(f.properties)); }
        }).addTo(handle.map);
        handle.layers.addOverlay(cells, cfg.title);
        if (!fitted && body.features.length) { handle.map.fitBounds(cells.getBounds(), {maxZoom: 14}); fitted = true; }
        drawLegend(handle.map, meta);
        form.dataset.loaded = query();
        status.textContent = body.features.length ? "" : cfg.lNone;
      })
      .catch(function () { status.textContent = cfg.lError; });
    if (cfg.pointsUrl) { loadPoints(handle); }
  }

  function tilePoints(handle, params) {
    // Over GEOAPP_TILE_THRESHOLD incidents: vector tiles (cells with counts when zoomed out).
    var visible = points && handle.map.hasLayer(points);
    if (points) { handle.layers.removeLayer(points); points.remove(); }
    points = L.vectorGrid.protobuf(cfg.tilesUrl + "&" + params.toString(), {
      rendererFactory: L.canvas.tile,
      fetchOptions: {credentials: "same-origin"},
      maxNativeZoom: 19,
      interactive: true,
      vectorTileLayerStyles: {
        incidents: function (p) {
          var r = p.count ? Math.min(12, 2 + Math.sqrt(p.count)) : 3;
          return {radius: r, color: cfg.pointColour, weight: 1, fill: true, fillOpacity: 0.6};
        }
      }
    });
    points.on("click", function (e) {
      var p = e.layer.properties, box = document.createElement("div");
      box.textContent = p.count ? String(p.count) : p.group + " · ст. " + p.article + " · " + p.occurred_on;
      L.popup().setLatLng(e.latlng).setContent(box).openOn(handle.map);
    });
    if (visible) { points.addTo(handle.map); }
    handle.layers.addOverlay(points, cfg.pointsTitle);
  }

  function loadPoints(handle) {
    var params = new URLSearchParams(query());
    params.delete("size");
    if (cfg.tilesUrl && L.vectorGrid) { tilePoints(handle, params); return; }
    fetch(cfg.pointsUrl + "?" + params.toString(), {credentials: cfg.credentials})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        var visible = points && handle.map.hasLayer(points);
        if (points) { handle.layers.removeLayer(points); points.remove(); }
        points = L.geoJSON(body, {
          pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, {radius: 3, color: cfg.pointColour, weight: 1, fillOpacity: 0.7});
          },
          onEachFeature: function (f, layer) {
            var p = f.properties, box = document.createElement("div");
            box.textContent = (document.documentElement.lang === "en" ? p.group_en : p.group_uk) +
              " · ст. " + p.article + " · " + p.occurred_on;
            layer.bindPopup(box);
          }
        });
        if (visible) { points.addTo(handle.map); }
        handle.layers.addOverlay(points, cfg.pointsTitle);
      });
  }

  form.addEventListener("change", load);
  form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
  if (window.geoappMap) { load(); } else { document.addEventListener("geoapp:map", load); }
}());
