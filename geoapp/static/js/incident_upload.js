/* The import form with a progress bar: the file goes up by XMLHttpRequest so its progress
 * can be shown.  An accepted upload is answered with a redirect to its import job's page
 * (which shows the import's own progress), where the browser then goes; a refused form is
 * the same page again, from which the result panel is taken (no script in it runs).
 * Without JavaScript the form posts as usual. */
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
      var redirected = xhr.responseURL && xhr.responseURL.split("?")[0] !== form.action;
      if (xhr.status === 200 && redirected) {
        window.location.assign(xhr.responseURL);  // the job's page, or the finished batch
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
