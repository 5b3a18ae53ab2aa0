/* The hot spot map of the analysis page: cells coloured by Gi* class (the layer API
 * decides what the caller may see), a legend, and a month-by-month chart of a clicked
 * cell drawn as SVG, and the staff heat map as an overlay in the layer control.  All text
 * goes in through text nodes, never as HTML. */
(function () {
  "use strict";
  var box = document.getElementById("hotspot-map");
  if (!box) { return; }
  var cfg = box.dataset;
  var colours = JSON.parse(cfg.colours);
  var labels = JSON.parse(cfg.labels);
  var trends = JSON.parse(cfg.trends);
  var status = document.getElementById("hotspot-status");
  var lang = document.documentElement.lang === "en" ? "en-GB" : "uk-UA";
  var fmt = new Intl.NumberFormat(lang);
  var SVG = "http://www.w3.org/2000/svg";

  function svg(name, attrs) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }

  function chart(data) {
    var holder = document.getElementById("cell-trend-chart");
    holder.textContent = "";
    var w = 640, h = 180, pad = 28, n = data.counts.length;
    var max = Math.max.apply(null, data.counts.concat([1]));
    var root = svg("svg", {viewBox: "0 0 " + w + " " + h, role: "img", "data-testid": "trend-chart",
                           "aria-label": cfg.lChart});
    var bw = (w - 2 * pad) / Math.max(n, 1);
    data.counts.forEach(function (c, k) {
      var bh = (h - 2 * pad) * c / max;
      var bar = svg("rect", {x: pad + k * bw + 1, y: h - pad - bh, width: Math.max(bw - 2, 1),
                             height: bh, fill: "#d73027"});
      var tip = svg("title", {});
      var month = new Date(data.months[k] + "-01T00:00:00");
      tip.textContent = month.toLocaleDateString(lang, {month: "long", year: "numeric"}) + ": " + fmt.format(c);
      bar.appendChild(tip);
      root.appendChild(bar);
      if (k === 0 || k === n - 1) {
        var t = svg("text", {x: k === 0 ? pad : pad + (k + 1) * bw, y: h - 8, "font-size": 12,
                             "text-anchor": k === 0 ? "start" : "end"});
        t.textContent = month.toLocaleDateString(lang, {month: "short", year: "numeric"});
        root.appendChild(t);
      }
    });
    var top = svg("text", {x: 2, y: pad - 8, "font-size": 12});
    top.textContent = fmt.format(max);
    root.appendChild(top);
    var caption = document.createElement("p");
    caption.setAttribute("data-testid", "trend-caption");
    caption.textContent = cfg.lChart + " · " + labels[data.gi_bin + 3] +
      (data.trend_name ? " · " + cfg.lTrend + ": " + data.trend_name : "");
    holder.appendChild(caption);
    holder.appendChild(root);
    document.getElementById("cell-trend-hint").hidden = true;
  }

  function popup(props) {
    return window.geoappHotspotPopup(props, labels, cfg.lCount, fmt);
  }

  /* A legend box: a titled panel whose body `fill` writes (text nodes only). */
  function legendControl(position, testid, heading, fill) {
    var control = L.control({position: position});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "legend");
      div.setAttribute("data-testid", testid);
      var title = document.createElement("strong");
      title.textContent = heading;
      div.appendChild(title);
      fill(div);
      return div;
    };
    return control;
  }

  function legend(map) {
    var control = legendControl("bottomright", "legend", cfg.lLegend, function (div) {
      for (var k = colours.length - 1; k >= 0; k--) {
        var row = document.createElement("div");
        var sw = document.createElement("i");  /* styled like the incident legend's keys */
        sw.style.background = colours[k];
        row.appendChild(sw);
        row.appendChild(document.createTextNode(labels[k]));
        div.appendChild(row);
      }
    });
    control.addTo(map);
  }

  function start() {
    var map = window.geoappMap && window.geoappMap.map;
    if (!map) { setTimeout(start, 50); return; }
    status.textContent = cfg.lLoading;
    fetch(cfg.url, {credentials: "same-origin", headers: {Accept: "application/geo+json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        status.textContent = "";
        var layer = L.geoJSON(data, {
          style: function (f) {
            return {color: cfg.outline, weight: 0.5, fillColor: colours[f.properties.gi_bin + 3],
                    fillOpacity: Number(cfg.opacity)};
          },
          onEachFeature: function (f, l) {
            l.bindPopup(popup(f.properties));
            l.on("click", function () {
              var url = cfg.seriesUrl + "&i=" + f.properties.i + "&j=" + f.properties.j;
              fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(chart);
            });
          }
        }).addTo(map);
        legend(map);
        if (data.features.length) { map.fitBounds(layer.getBounds()); }
        window.geoappMap.hotspots = layer;
        window.geoappMap.layers.addOverlay(layer, cfg.lHotspots);
        heat(map);
      })
      .catch(function () { status.textContent = cfg.lError; });
  }

  /* The heat map: an image overlay in the layer control, off until switched on; its key
   * (a colour ramp from fewer to more, no numbers) shows while it is on. */
  function heat(map) {
    fetch(cfg.heatUrl, {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        if (!data.image) { return; }  /* no offences in the period: no heat map to offer */
        if (!map.getPane("heat")) {  /* above the cells, but clicks go through to them */
          var pane = map.createPane("heat");
          pane.style.zIndex = 450;
          pane.style.pointerEvents = "none";
        }
        var overlay = L.imageOverlay(data.image, data.bounds, {opacity: 0.85, interactive: false,
                                                               pane: "heat", className: "heat-overlay",
                                                               alt: cfg.lHeat});
        window.geoappMap.layers.addOverlay(overlay, cfg.lHeat);
        window.geoappMap.heat = overlay;
        var key = legendControl("bottomleft", "heat-legend", cfg.lHeat, function (div) {
          div.appendChild(L.DomUtil.create("span", "heat-ramp"));
          var ends = L.DomUtil.create("div", "heat-ends", div);
          [cfg.lHeatLow, cfg.lHeatHigh].forEach(function (t) {
            var s = document.createElement("span"); s.textContent = t; ends.appendChild(s);
          });
        });
        map.on("overlayadd", function (e) { if (e.layer === overlay) { key.addTo(map); } });
        map.on("overlayremove", function (e) { if (e.layer === overlay) { key.remove(); } });
      })
      .catch(function () { status.textContent = cfg.lError; });
  }
  start();
})();
