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

  // A line of the inbox opens in place; its lists are inside, so open it before focusing them.
  function openCard(card) {
    var details = card && card.querySelector("details");
    if (details) { details.open = true; }
  }

  function focusIn(key) {
    var card = currentCard() || cards()[0];
    openCard(card);
    var target = card ? card.querySelector('[data-key="' + key + '"]') : null;
    if (target) { target.focus(); }
  }

  function toggle() {
    var card = currentCard();
    var details = card && card.querySelector("details");
    if (details) { details.open = !details.open; }
  }

  // --- actions on one line without reloading the page (the form posts as usual without JS) ---
  function count(state, step) {
    var cell = document.querySelector('[data-count="' + state + '"]');
    if (cell) { cell.textContent = String(Math.max(0, parseInt(cell.textContent, 10) + step)); }
  }

  function announce(text) {
    var live = document.querySelector('[data-key="announce"]');
    if (live) { live.textContent = text; }
  }

  function following(card) {
    var list = cards();
    var index = list.indexOf(card);
    return index >= 0 && index + 1 < list.length ? list[index + 1] : card;
  }

  function sendInline(form, submitter) {
    var card = form.closest("article.contribution");
    var row = card.closest("li");
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var token = form.querySelector('[name="csrf_token"]');
    var moveOn = form.hasAttribute("data-next");
    var id = card.id;
    form.setAttribute("aria-busy", "true");
    // getAttribute: the buttons named "action" shadow form.action
    return fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": token ? token.value : "" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") < 0) { throw new Error("not json"); }
      return response.json();
    }).then(function (answer) {
      // Where the person is now (they may have moved on while the answer came back).
      var active = document.activeElement;
      var busy = form.contains(active);  // the list or button that was used: the action is done
      var within = row.contains(active) && active !== card && !busy ? active.getAttribute("data-key") : null;
      var elsewhere = !row.contains(active) && active && active.closest && active.closest("article.contribution");
      if (answer.row) {
        var holder = document.createElement("ol");
        holder.innerHTML = answer.row;
        var fresh = holder.firstElementChild;
        row.replaceWith(fresh);
        if (answer.previous !== answer.state) { count(answer.previous, -1); count(answer.state, 1); }
      }
      announce(answer.message);
      var now = document.getElementById(id);
      if (elsewhere) { return; }
      if (within && within !== "confirm" && now.querySelector('[data-key="' + within + '"]')) {
        openCard(now);
        now.querySelector('[data-key="' + within + '"]').focus();
        return;
      }
      focusCard(moveOn && answer.ok ? following(now) : now);
    }).catch(function () {
      form.removeAttribute("aria-busy");
      form.setAttribute("data-plain", "");  // the server answers as it does without JavaScript
      if (submitter && form.requestSubmit) { form.requestSubmit(submitter); } else { form.submit(); }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-inline") || !form.closest("article.line")) { return; }
    if (form.hasAttribute("data-plain")) { return; }
    if (!window.fetch || !window.FormData) { return; }
    event.preventDefault();
    sendInline(form, event.submitter);
  });

  function isTyping(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  var actions = {
    j: function () { move(1); },
    k: function () { move(-1); },
    c: function () { var b = inCard("confirm"); if (b) { b.click(); } },
    t: function () { focusIn("theme"); },
    s: function () { focusIn("status"); },
    Enter: function () { toggle(); },
    " ": function () { toggle(); },
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
    // Enter and space keep their meaning on a link, a button or a line's summary.
    var onCard = event.target.matches && event.target.matches("article.contribution");
    if ((event.key === "Enter" || event.key === " ") && !onCard) { return; }
    if (action && cards().length) {
      event.preventDefault();
      action();
    }
  });

  // --- the top bar: one group open at a time; a menu button on a narrow screen ---
  function setUpMenu() {
    var groups = Array.prototype.slice.call(document.querySelectorAll("details.nav-group"));
    groups.forEach(function (group) {
      group.addEventListener("toggle", function () {
        if (group.open) { groups.forEach(function (other) { if (other !== group) { other.open = false; } }); }
      });
    });
    document.addEventListener("click", function (event) {
      groups.forEach(function (group) { if (!group.contains(event.target)) { group.open = false; } });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") { return; }
      groups.forEach(function (group) {
        if (group.open) { group.open = false; group.querySelector("summary").focus(); }
      });
    });
    var button = document.querySelector(".menu-button");
    var nav = document.getElementById("menu");
    if (!button || !nav) { return; }
    document.documentElement.classList.add("has-menu-button");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
  }

  function ready() {
    setUpMenu();
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
