// The compose page's live preview: while a person types, the form is sent
// to /admin/compose/preview (a little after the last key, one request at
// a time, a newer one aborting the older), and the server's HTML for the
// problems and the matrix takes the place of the old. Without this
// script, the "Vorschau" button does the same with a page load.
(function () {
  "use strict";
  var form = document.getElementById("compose");
  if (!form || !window.fetch || !window.AbortController || !window.DOMParser) {
    return;
  }
  var csrf = form.querySelector("input[name=csrf]").value;
  var summary = document.getElementById("summary");
  var preview = document.getElementById("preview");
  var status = document.getElementById("preview-status");
  var publish = document.getElementById("publish");
  var timer = null;
  var inflight = null;

  function later() {
    clearTimeout(timer);
    timer = setTimeout(run, 500);
  }

  function swap(target, from) {
    if (!target || !from) {
      return;
    }
    target.replaceChildren.apply(target, Array.prototype.slice.call(from.childNodes));
  }

  function run() {
    if (inflight) {
      inflight.abort();
    }
    var ctrl = new AbortController();
    inflight = ctrl;
    fetch("/admin/compose/preview", {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { "X-CSRF-Token": csrf },
      credentials: "same-origin",
      signal: ctrl.signal
    }).then(function (res) {
      if (!res.ok) {
        throw new Error("preview: " + res.status);
      }
      return res.text();
    }).then(function (html) {
      if (ctrl !== inflight) {
        return;
      }
      var doc = new DOMParser().parseFromString(html, "text/html");
      var root = doc.body.firstElementChild;
      if (!root) {
        return;
      }
      swap(summary, root.querySelector("[data-part=summary]"));
      swap(preview, root.querySelector("[data-part=preview]"));
      if (publish) {
        publish.disabled = (parseInt(root.getAttribute("data-problems"), 10) || 0) > 0;
      }
      if (status) {
        status.textContent = root.getAttribute("data-status") || "";
      }
    }).catch(function () {
      // Aborted, or the server is away: the last preview stays, and the
      // button still works.
    }).finally(function () {
      if (inflight === ctrl) {
        inflight = null;
      }
    });
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
