/* The report page, improved by JavaScript (the form works without it).
 * - a pin on the map (tap, then drag), or "use my location";
 * - the category's notice shown when it is chosen;
 * - sending through the API; with no connection the report is kept in this
 *   phone's storage and sent when the connection returns, under the same
 *   client token, so it is never stored twice.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var form = document.getElementById("report-form");
  if (!form || !script) { return; }
  var api = script.dataset.api;
  var KEY = "geoapp.pending-reports";
  var status = document.getElementById("offline-status");

  function say(text) { status.textContent = text; status.hidden = !text; }

  function pending() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function keep(list) { localStorage.setItem(KEY, JSON.stringify(list)); }

  function send(item) {
    return fetch(item.api, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(item.body), credentials: "omit"
    });
  }

  function flush() {
    var list = pending();
    if (!list.length || !navigator.onLine) { return; }
    var item = list[0];
    send(item).then(function (resp) {
      if (resp.status === 201 || resp.status === 200 || resp.status === 422) {
        keep(pending().filter(function (p) { return p.body.client_token !== item.body.client_token; }));
        if (resp.status !== 422) { say(script.dataset.sent); }
        flush();
      }
    }).catch(function () { /* still offline: try again later */ });
  }
  window.addEventListener("online", flush);
  flush();

  // Category notices: with JavaScript, only the chosen category's notice shows.
  var notices = form.querySelectorAll("[data-notice-for]");
  function showNotice() {
    var chosen = form.querySelector("input[name=category]:checked");
    notices.forEach(function (n) { n.hidden = !chosen || n.dataset.noticeFor !== chosen.value; });
  }
  form.querySelectorAll("input[name=category]").forEach(function (r) {
    r.addEventListener("change", showNotice);
  });
  showNotice();

  // The map.
  var box = document.getElementById("pick-map");
  var lon = form.querySelector("input[name=lon]");
  var lat = form.querySelector("input[name=lat]");
  var how = form.querySelector("input[name=located_by]");
  var pinStatus = document.getElementById("pin-status");
  if (window.L && box) {
    box.hidden = false;
    document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
    var map = L.map(box);
    L.tileLayer(box.dataset.tiles, {attribution: box.dataset.attribution, maxZoom: 19}).addTo(map);
    var bbox = box.dataset.bbox ? JSON.parse(box.dataset.bbox) : null;
    if (bbox) { map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]]); }
    else { map.setView([48.6, 31.2], 6); }
    var marker = null;
    var place = function (latlng, source) {
      lon.value = latlng.lng.toFixed(6); lat.value = latlng.lat.toFixed(6); how.value = source;
      if (!marker) {
        marker = L.marker(latlng, {draggable: true, keyboard: true}).addTo(map);
        marker.on("dragend", function () { place(marker.getLatLng(), "pin"); });
      } else { marker.setLatLng(latlng); }
      pinStatus.textContent = script.dataset.pinned;
      showAddress(latlng);
      showNearby();
    };
    map.on("click", function (e) { place(e.latlng, "pin"); });
    box.placePin = function (lat, lng) { place(L.latLng(lat, lng), "pin"); };  // for tests

    // A typed address: find it, put the pin there, and let the resident check it.
    var address = document.getElementById("address");
    if (address) {
      address.addEventListener("change", function () {
        var q = address.value.trim();
        if (q.length < 3) { return; }
        var url = script.dataset.geocode + "?community=" + encodeURIComponent(script.dataset.community) +
          "&limit=1&q=" + encodeURIComponent(q);
        fetch(url).then(function (r) { return r.ok ? r.json() : {candidates: []}; }).then(function (body) {
          var hit = body.candidates && body.candidates[0];
          if (!hit) { pinStatus.textContent = script.dataset.notFound; return; }
          var here = L.latLng(hit.lat, hit.lon);
          place(here, "geocoded");
          map.setView(here, 17);
          pinStatus.textContent = script.dataset.found.replace("{label}", hit.label);
        }).catch(function () { /* offline: the server will geocode on sending */ });
      });
    }
    if (lon.value && lat.value) { place(L.latLng(+lat.value, +lon.value), how.value || "pin"); }
    var me = document.getElementById("locate-me");
    if (me && navigator.geolocation) {
      me.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (pos) {
          var here = L.latLng(pos.coords.latitude, pos.coords.longitude);
          place(here, "device"); map.setView(here, 17);
        });
      });
    } else if (me) { me.hidden = true; }
  }

  // Where the pin is, in words: the nearest known address.
  var pinAddress = document.getElementById("pin-address");
  function showAddress(latlng) {
    fetch(script.dataset.reverse + "?lon=" + latlng.lng.toFixed(6) + "&lat=" + latlng.lat.toFixed(6))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        var near = body && body.nearest;
        pinAddress.textContent = near ? script.dataset.nearLabel + " " + near.label : "";
        pinAddress.hidden = !near;
      }).catch(function () { pinAddress.hidden = true; });
  }

  // Before a new report: the same kind of concern, already accepted nearby? Say "me too".
  var nearbyBox = document.getElementById("nearby");
  function showNearby() {
    var chosen = form.querySelector("input[name=category]:checked");
    if (!nearbyBox || !chosen || !lon.value) { if (nearbyBox) { nearbyBox.hidden = true; } return; }
    var url = script.dataset.nearby + "?category=" + encodeURIComponent(chosen.value) +
      "&lon=" + lon.value + "&lat=" + lat.value;
    fetch(url).then(function (r) { return r.ok ? r.json() : {concerns: []}; }).then(function (body) {
      var list = nearbyBox.querySelector("ul");
      list.textContent = "";
      body.concerns.forEach(function (c) {
        var li = document.createElement("li");
        var label = document.createElement("span");
        label.textContent = (script.getAttribute("data-status-" + c.status) || c.status) + ", " +
          c.metres + " " + script.dataset.metres + " (" + c.support_count + ")";
        var button = document.createElement("button");
        button.type = "button"; button.textContent = script.dataset.meToo;
        button.addEventListener("click", function () {
          fetch(script.dataset.api + "/" + encodeURIComponent(c.public_id) + "/support", {
            method: "POST", headers: {"Content-Type": "application/json"}, credentials: "omit",
            body: JSON.stringify({client_token: form.querySelector("input[name=client_token]").value})
          }).then(function (r) { return r.json(); }).then(function (res) {
            label.textContent = label.textContent.replace(/\(\d+\)$/, "(" + res.support_count + ")");
            button.disabled = true; say(script.dataset.supported);
          });
        });
        li.appendChild(label); li.appendChild(document.createTextNode(" ")); li.appendChild(button);
        list.appendChild(li);
      });
      nearbyBox.hidden = body.concerns.length === 0;
    }).catch(function () { nearbyBox.hidden = true; });
  }
  form.querySelectorAll("input[name=category]").forEach(function (r) {
    r.addEventListener("change", showNearby);
  });

  // Sending: through the API; offline, keep it on the phone.
  form.addEventListener("submit", function (event) {
    if (form.dataset.plain === "1") { return; }
    event.preventDefault();
    var data = new FormData(form);
    if (data.get("website")) { return; }
    var photo = data.get("photo");
    if (photo && photo.size) { form.dataset.plain = "1"; form.submit(); return; }  // photos go as a form
    var body = {
      category: data.get("category") || "", description: data.get("description") || "",
      address: data.get("address") || null, client_token: data.get("client_token"),
      located_by: data.get("located_by") || "pin",
      contact: {name: data.get("contact_name") || "", phone: data.get("contact_phone") || "",
                email: data.get("contact_email") || "", consent: data.get("consent") === "yes"}
    };
    if (data.get("lon") && data.get("lat")) { body.lon = +data.get("lon"); body.lat = +data.get("lat"); }
    var item = {api: api + (location.search.indexOf("lang=en") >= 0 ? "?lang=en" : ""), body: body};
    send(item).then(function (resp) {
      if (resp.status === 201 || resp.status === 200) {
        return resp.json().then(function (r) {
          location.assign(r.tracking_url + "?new=1" + (r.contact_kept === false ? "&contact=lost" : ""));
        });
      }
      form.dataset.plain = "1"; form.submit();  // let the server show what to fix
    }).catch(function () {
      var list = pending().filter(function (p) { return p.body.client_token !== body.client_token; });
      list.push(item); keep(list); say(script.dataset.saved);
    });
  });
})();
