/* The import form with a progress bar: the file goes up by XMLHttpRequest so its progress
 * can be shown; the server's answer is the same page, from which the result panel is
 * taken (no script in it runs).  A successful import reloads the page at its batch so the
 * map shows the new counts.  Without JavaScript the form posts as usual. */
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  if (!form || !window.XMLHttpRequest || !window.DOMParser) { return; }
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    bar.hidden = false;
    bar.value = 0;
    form.querySelector("button").disabled = true;
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) { return; }
      var pct = Math.round(100 * e.loaded / e.total);
      bar.value = pct;
      status.textContent = form.dataset.lUploading.replace("{pct}", pct + " %");
    };
    xhr.upload.onload = function () {
      bar.removeAttribute("value");
      status.textContent = form.dataset.lProcessing;
    };
    xhr.onload = function () {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var result = doc.getElementById("import-result");
      if (xhr.status === 200 && result && result.dataset.batch) {
        window.location.assign(window.location.pathname + "?batch=" + result.dataset.batch);
        return;
      }
      form.querySelector("button").disabled = false;
      bar.hidden = true;
      status.textContent = "";
      if (result) {
        document.getElementById("import-result").replaceWith(document.importNode(result, true));
      } else {
        status.textContent = form.dataset.lFailed;
      }
    };
    xhr.onerror = function () {
      form.querySelector("button").disabled = false;
      bar.hidden = true;
      status.textContent = form.dataset.lFailed;
    };
    xhr.send(new FormData(form));
  });
}());
