/* Session mode: the hot spots of the chosen period on the session map, a clicked cell
 * offered as a priority, and the map state (view, overlays, filters) saved on every
 * change and put back when the session is opened again.  Text goes in as text nodes.
 * Analysts choose from/to, group and size; a viewer's filter holds only `period` (a
 * published year), the one query the hot spot layer answers below analysts. */
(function () {
  "use strict";
  var box = document.getElementById("session");
  if (!box) { return; }
  var cfg = box.dataset;
  var saved = JSON.parse(cfg.state || "{}");
  var colours = JSON.parse(cfg.colours);
  var labels = JSON.parse(cfg.labels);
  var filter = document.getElementById("session-filter");
  var statusEl = document.getElementById("session-status");
  var canSave = cfg.canSave === "1";
  var ids = {hotspots: cfg.lHotspots, concerns: cfg.lConcerns, measures: cfg.lMeasures,
             boundaries: cfg.lBoundaries};
  var fmt = new Intl.NumberFormat(document.documentElement.lang === "en" ? "en-GB" : "uk-UA");
  var ctx = null, hot = null, restoring = true, timer = null;

  function named() {
    var out = {};
    ctx.layers._layers.forEach(function (e) { if (e.overlay) { out[e.name] = e.layer; } });
    return out;
  }

  function round(v) { return Math.round(v * 1e6) / 1e6; }

  /* What is on the screen now, in the form the server keeps (see planning.clean_map_state). */
  function current() {
    var c = ctx.map.getCenter(), on = [], layers = named(), filters = {};
    Object.keys(ids).forEach(function (id) {
      var layer = layers[ids[id]];
      if (layer && ctx.map.hasLayer(layer)) { on.push(id); }
    });
    new FormData(filter).forEach(function (v, k) { filters[k] = String(v); });
    return {center: [round(c.lat), round(c.lng)], zoom: ctx.map.getZoom(), overlays: on,
            filters: filters};
  }

  function save() {
    if (!canSave || restoring) { return; }
    clearTimeout(timer);
    timer = setTimeout(function () {
      fetch(cfg.stateUrl, {method: "POST", credentials: "same-origin",
                           headers: {"Content-Type": "application/json", "X-CSRFToken": cfg.csrf},
                           body: JSON.stringify(current())})
        .then(function (r) {
          statusEl.textContent = r.ok ? cfg.lSaved : cfg.lNotSaved;
          statusEl.dataset.saved = r.ok ? "1" : "0";
        })
        .catch(function () { statusEl.textContent = cfg.lNotSaved; statusEl.dataset.saved = "0"; });
    }, 500);
  }

  function query() {
    var params = new URLSearchParams(new FormData(filter));
    Array.from(params.keys()).forEach(function (k) { if (!params.get(k)) { params.delete(k); } });
    return params.toString();
  }

  /* The priority form takes the map's period, group and cell size with it. */
  function syncForms() {
    var data = new FormData(filter);
    var form = document.getElementById("priority-form");
    if (!form) { return; }
    ["from", "to", "group", "size"].forEach(function (k) {
      form.elements[k].value = data.get(k) || "";
    });
  }

  function choose(props) {
    var pair = props.i + ":" + props.j;
    var field = document.getElementById("p-cells");
    if (field) {
      var cells = field.value.split(" ").filter(Boolean);
      if (cells.indexOf(pair) < 0) { cells.push(pair); }
      field.value = cells.join(" ");
      document.getElementById("p-cells-status").textContent = cfg.lChosen + ": " + cells.length;
      var title = document.getElementById("p-title");
      if (title) { title.focus(); }
    }
    var decision = document.getElementById("decision-form");
    if (decision && field) {
      decision.elements.cells.value = field.value;
      decision.elements.size.value = props.cell_size_m;
    }
  }

  function popup(props) {
    var div = window.geoappHotspotPopup(props, labels, cfg.lCount, fmt);
    if (document.getElementById("priority-form")) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "add-priority";
      button.textContent = cfg.lAdd;
      button.addEventListener("click", function () { choose(props); ctx.map.closePopup(); });
      div.appendChild(document.createElement("br"));
      div.appendChild(button);
    }
    return div;
  }

  function loadHotspots(then) {
    fetch(cfg.layerUrl + "?" + query(), {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        var wasOn = !hot || ctx.map.hasLayer(hot);
        if (hot) { ctx.layers.removeLayer(hot); ctx.map.removeLayer(hot); }
        hot = L.geoJSON(data, {
          style: function (f) {
            return {color: cfg.outline, weight: 0.5, fillColor: colours[f.properties.gi_bin + 3],
                    fillOpacity: Number(cfg.opacity)};
          },
          onEachFeature: function (f, l) {
            l.feature = f;
            l.bindPopup(function () { return popup(f.properties); });
          }
        });
        if (wasOn) { hot.addTo(ctx.map); }
        ctx.layers.addOverlay(hot, cfg.lHotspots);
        box.dataset.hotspots = String(data.features.length);
        if (then) { then(); }
      })
      .catch(function () {
        statusEl.textContent = cfg.lNotLoaded || cfg.lNotSaved;
        if (then) { then(); }
      });
  }

  function restore() {
    var layers = named();
    if (saved.overlays) {
      Object.keys(ids).forEach(function (id) {
        var layer = layers[ids[id]];
        if (!layer) { return; }
        var want = saved.overlays.indexOf(id) >= 0;
        if (want && !ctx.map.hasLayer(layer)) { ctx.map.addLayer(layer); }
        if (!want && ctx.map.hasLayer(layer)) { ctx.map.removeLayer(layer); }
      });
    }
    if (saved.center) { ctx.map.setView(saved.center, saved.zoom, {animate: false}); }
    setTimeout(function () { restoring = false; box.dataset.ready = "1"; }, 0);
  }

  function start() {
    ctx = window.geoappMap;
    if (!ctx) { return; }
    if (saved.center) { ctx.map.setView(saved.center, saved.zoom, {animate: false}); }
    syncForms();
    loadHotspots(restore);
    ctx.map.on("moveend zoomend overlayadd overlayremove", save);
    filter.addEventListener("change", function () { syncForms(); loadHotspots(save); });
    window.geoappSession = {state: current, hotspots: function () { return hot; }, choose: choose};
  }

  if (window.geoappMap) { start(); } else { document.addEventListener("geoapp:map", start); }
})();
