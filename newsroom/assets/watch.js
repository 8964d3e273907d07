// Live progress of one announcement: follows the server-sent events of
// the progress table and writes their numbers into its cells and the
// summary, which is aria-live. The page works without it: the
// "Aktualisieren" link reloads it.
"use strict";
(function () {
  var table = document.getElementById("progress");
  if (!table || !table.dataset.events || !window.EventSource) {
    return;
  }
  var summary = document.getElementById("progress-summary");
  var kinds = ["total", "pending", "sent", "failed", "unknown", "canceled", "expired"];
  var cells = {};
  table.querySelectorAll("[data-cell]").forEach(function (td) {
    cells[td.getAttribute("data-cell")] = td;
  });
  function set(key, value) {
    var td = cells[key];
    var text = String(value);
    if (td && td.textContent !== text) {
      td.textContent = text;
    }
  }
  var source = new EventSource(table.dataset.events);
  source.addEventListener("progress", function (e) {
    var p;
    try {
      p = JSON.parse(e.data);
    } catch (err) {
      return;
    }
    (p.cells || []).forEach(function (c) {
      kinds.forEach(function (k) {
        set(c.town + "|" + c.channel + "|" + k, c[k]);
      });
    });
    kinds.forEach(function (k) {
      set("||" + k, p.total[k]);
    });
    if (summary && typeof p.summary === "string" && summary.textContent !== p.summary) {
      summary.textContent = p.summary;
    }
  });
  source.addEventListener("end", function () {
    source.close();
  });
})();
