// Paroles back-office: keyboard shortcuts and small conveniences.
// Loaded as an external file (the Content-Security-Policy forbids inline script); every page
// works without it: forms post and redirect as usual.
(function () {
  "use strict";

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll("article.contribution[tabindex]"));
  }

  function currentCard() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("article.contribution") : null;
  }

  function focusCard(card) {
    if (!card) { return; }
    card.focus();
    card.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = cards();
    if (!list.length) { return; }
    var index = list.indexOf(currentCard());
    var next = index < 0 ? 0 : Math.min(Math.max(index + step, 0), list.length - 1);
    focusCard(list[next]);
  }

  function inCard(key) {
    var card = currentCard() || cards()[0];
    return card ? card.querySelector('[data-key="' + key + '"]') : null;
  }

  function isTyping(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  var actions = {
    j: function () { move(1); },
    k: function () { move(-1); },
    c: function () { var b = inCard("confirm"); if (b) { b.click(); } },
    t: function () { var s = inCard("theme"); if (s) { s.focus(); } },
    s: function () { var s = inCard("status"); if (s) { s.focus(); } },
    x: function () { var box = inCard("select"); if (box) { box.checked = !box.checked; } },
    o: function () { var a = inCard("open"); if (a) { a.click(); } },
    "/": function () { var q = document.querySelector('[data-key="search"]'); if (q) { q.closest("details").open = true; q.focus(); } }
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (isTyping(event.target)) {
      if (event.key === "Escape") { var card = currentCard(); event.target.blur(); focusCard(card); }
      // Enter on a card's thème or status list applies the choice, as its button would.
      var key = event.target.dataset && event.target.dataset.key;
      if (event.key === "Enter" && (key === "theme" || key === "status")) {
        event.preventDefault();
        event.target.form.querySelector("button[type=submit]").click();
      }
      return;
    }
    var action = actions[event.key];
    if (action && cards().length) {
      event.preventDefault();
      action();
    }
  });

  function ready() {
    // Back from an action: focus the contribution named in the address (#c-123).
    var match = /^#c-(\d+)$/.exec(window.location.hash);
    if (match) { focusCard(document.getElementById("c-" + match[1])); }

    var all = document.querySelector('[data-key="select-all"]');
    if (all) {
      all.hidden = false;
      all.addEventListener("click", function () {
        var boxes = document.querySelectorAll('[data-key="select"]');
        var check = Array.prototype.some.call(boxes, function (b) { return !b.checked; });
        Array.prototype.forEach.call(boxes, function (b) { b.checked = check; });
      });
    }

    var text = document.getElementById("reply-text");
    var counter = document.querySelector('[data-key="counter"]');
    var template = document.querySelector('[data-key="template"]');
    function count() { if (text && counter) { counter.textContent = text.value.length + " / 160"; } }
    if (template && text) {
      template.addEventListener("change", function () {
        var option = template.options[template.selectedIndex];
        if (option && option.dataset.text) { text.value = option.dataset.text; count(); text.focus(); }
      });
    }
    if (text) { text.addEventListener("input", count); count(); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
