// Live SMS count in the survey editor and the retour form.
// The count comes from the server (`data-count-url`), which renders each message exactly as the
// SMS channel does: what is shown here is what the habitant's phone will receive. Without
// JavaScript the same figures are shown when the page is rendered.
(function () {
  "use strict";

  function show(form, key, count) {
    var template = form.dataset.figures || "{chars} / {n}";
    var figures = template.replace("{chars}", count.chars).replace("{n}", count.segments);
    document.querySelectorAll('[data-count="' + key + '"]').forEach(function (box) {
      var part = box.querySelector('[data-part="figures"]');
      var warning = box.querySelector('[data-part="warning"]');
      if (part) { part.textContent = figures; }
      if (warning) { warning.hidden = count.segments <= 1; }
      box.classList.toggle("warn", count.segments > 1);
    });
    document.querySelectorAll('[data-preview="' + key + '"]').forEach(function (pre) {
      pre.textContent = count.text;
    });
  }

  function watch(form) {
    var timer = null;
    var sequence = 0;
    function ask() {
      var body = new FormData(form);
      var key = form.dataset.countKey;
      if (key) {
        var only = new FormData();
        only.append("csrf_token", body.get("csrf_token"));
        only.append("text", body.get("text") || "");
        body = only;
      }
      body.delete("action");
      var mine = ++sequence;
      fetch(form.dataset.countUrl, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (counts) {
          if (!counts || mine !== sequence) { return; }  // an older answer arriving late
          if (key) { show(form, key, counts); return; }
          Object.keys(counts).forEach(function (name) { show(form, name, counts[name]); });
          form.dataset.counted = String(mine);
        })
        .catch(function () { /* offline: the figures of the last page stay */ });
    }
    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 250);
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
  }

  function ready() {
    document.querySelectorAll("form[data-count-url]").forEach(watch);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
