/* A report's CSV download: a plain link cannot send the page's context token, so the file is fetched
   with X-Zapp-Context and handed to the browser as a Blob. The report itself needs no script. */
(function () {
  "use strict";

  var zapp = window.zapp;
  var page = zapp.page;
  var button = document.getElementById("download-csv");
  var status = document.getElementById("download-status");
  if (!button || !page.urls || !page.urls.csv) return;

  function save(blob) {
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = page.filename || "report.csv";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    status.textContent = "";
  }

  function fail(error) {
    status.textContent = error.message || zapp.text("failed");
    status.classList.add("error");
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    status.classList.remove("error");
    status.textContent = zapp.text("preparing");
    zapp.call(page.urls.csv, { accept: "text/csv", blob: true })
      .then(save)
      .catch(fail)
      .then(function () { button.disabled = false; });
  });
})();
