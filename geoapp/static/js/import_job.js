/* An import job's page: the progress bar follows the job's JSON status (polled once a
 * second); when the job is done the page is loaded again, and the server answers with the
 * report (or the page at the new batch).  Without JavaScript the page refreshes itself. */
(function () {
  "use strict";
  var panel = document.getElementById("import-job");
  if (!panel || !window.fetch) { return; }
  var bar = document.getElementById("job-progress");
  var stage = document.getElementById("job-stage");
  function poll() {
    fetch(panel.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (job) {
        if (job.done) { window.location.reload(); return; }
        stage.textContent = job.label;
        if (job.fraction > 0) { bar.value = Math.round(100 * job.fraction); }
        window.setTimeout(poll, 1000);
      })
      .catch(function () {
        stage.textContent = panel.dataset.lFailed;
        window.setTimeout(poll, 5000);
      });
  }
  window.setTimeout(poll, 500);
}());
