/* The target area of a measure, drawn with Leaflet.draw: every shape drawn (or edited,
   or deleted) rewrites the form's hidden GeoJSON field, one Polygon or a MultiPolygon.
   An area already in the field (the form shown again after a problem) is put back on
   the map, so nothing drawn is lost. */
(function () {
  "use strict";

  function start() {
    var ctx = window.geoappMap;
    var field = document.getElementById("m-target");
    if (!ctx || !ctx.drawn || !field) { return; }
    var form = field.form;
    var status = document.getElementById("m-target-status");

    function write() {
      var polygons = [];
      ctx.drawn.eachLayer(function (layer) {
        var g = layer.toGeoJSON().geometry;
        if (g.type === "Polygon") { polygons.push(g.coordinates); }
        if (g.type === "MultiPolygon") { polygons = polygons.concat(g.coordinates); }
      });
      if (!polygons.length) {
        field.value = "";
      } else if (polygons.length === 1) {
        field.value = JSON.stringify({type: "Polygon", coordinates: polygons[0]});
      } else {
        field.value = JSON.stringify({type: "MultiPolygon", coordinates: polygons});
      }
      if (status && form) {
        status.textContent = field.value ? form.dataset.lDrawn : form.dataset.lCleared;
      }
      field.dispatchEvent(new Event("change", {bubbles: true}));
    }

    if (field.value) {
      try {
        L.geoJSON(JSON.parse(field.value)).eachLayer(function (layer) {
          if (layer.getLatLngs) { ctx.drawn.addLayer(L.polygon(layer.getLatLngs())); }
        });
        if (status && form) { status.textContent = form.dataset.lDrawn; }
      } catch (e) { field.value = ""; }
    }
    ctx.map.on("draw:created", function () { setTimeout(write, 0); });
    ctx.map.on("draw:edited draw:deleted", write);
  }

  if (window.geoappMap) { start(); } else { document.addEventListener("geoapp:map", start); }
})();
