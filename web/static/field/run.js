// Paroles, field pages: a survey run face to face with no network, one question per screen.
// With network the start form posts as usual and the server's engine leads each screen. With
// none, this runs the survey from its definition (questions.json, kept by the service worker),
// where the server wrote, for each answer, which question comes next as the engine says: the
// phone applies no rule of its own. The run lives in IndexedDB under an id made here (a draft,
// so a reload resumes it); once finished or stopped it waits in the queue like a paper sheet
// and goes, when the network is back, to the quick entry's route, which replays it through the
// engine and records each id once.
(function () {
  "use strict";

  var root = document.querySelector("[data-offline-run]");
  var form = document.querySelector("form[data-run-start]");
  var queue = window.ParolesQueue;
  if (!root || !form || !queue) { return; }
  var screen = root.querySelector(".offline-screen");
  var texts = root.dataset;
  var sync = new URL(texts.sync, location.href).href;

  function definition() {
    return fetch(texts.definition, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("unavailable"); }
        return response.json();
      });
  }

  function draft() {
    return queue.all().then(function (items) {
      return items.filter(function (i) { return i.draft && i.url === sync; })[0];
    });
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function button(label, kind, onClick) {
    var node = element("button", { type: "button", "class": kind }, label);
    node.addEventListener("click", onClick);
    return node;
  }

  function show(on) {
    root.hidden = !on;
    form.hidden = on;
  }

  function ask(survey, item) {
    var questions = survey.questions;
    var question = questions[item.at];
    screen.textContent = "";
    screen.appendChild(element("p", { "class": "progress" },
      texts.progress.replace("{n}", String(item.at + 1)).replace("{total}", String(questions.length))));
    var name = "q" + question.position;
    var id = "offline-" + name;
    var error = element("p", { "class": "field-error", id: id + "-error", role: "alert", hidden: "" });
    var read;
    if (question.kind === "text") {
      screen.appendChild(element("h2", {}, "")).appendChild(element("label", { "for": id }, question.text));
      var area = element("textarea", { id: id, rows: "5", maxlength: "1600", "aria-describedby": id + "-error" });
      screen.appendChild(error);
      screen.appendChild(area);
      area.focus();
      read = function () { return area.value.trim(); };
    } else {
      var group = element("fieldset", { "class": "answers", "aria-describedby": id + "-error" });
      group.appendChild(element("legend")).appendChild(element("h2", {}, question.text));
      group.appendChild(error);
      var kind = question.kind === "multiple" ? "checkbox" : "radio";
      question.choices.forEach(function (label, index) {
        var row = element("label", { "class": "answer" });
        row.appendChild(element("input", { type: kind, name: id, value: String(index + 1) }));
        row.appendChild(document.createTextNode(" " + label));
        group.appendChild(row);
      });
      screen.appendChild(group);
      read = function () {
        var chosen = Array.prototype.map.call(group.querySelectorAll("input:checked"), function (i) { return i.value; });
        return kind === "checkbox" ? chosen : (chosen[0] || "");
      };
    }
    var actions = element("p", { "class": "field-actions" });
    actions.appendChild(button(texts.validate, "big", function () {
      var given = read();
      if (!given.length) {
        if (question.required) {
          error.textContent = texts.required;
          error.hidden = false;
          return;
        }
        return move(survey, item, question, null);
      }
      move(survey, item, question, given);
    }));
    if (!question.required) {
      actions.appendChild(button(texts.skip, "secondary", function () { move(survey, item, question, null); }));
    }
    actions.appendChild(button(texts.stop, "secondary", function () { end(survey, item, true); }));
    screen.appendChild(actions);
  }

  function move(survey, item, question, given) {
    var next;
    if (given === null) {
      next = question.skip_next;
    } else {
      item.data["q" + question.position] = given;
      next = question.choices.length && question.kind !== "multiple" ? question.next[Number(given) - 1] : question.next[0];
    }
    if (next === null || next === undefined) { return end(survey, item, false); }
    item.at = next;
    queue.put(item).then(function () { ask(survey, item); });
  }

  function end(survey, item, stopped) {
    item.draft = false;
    if (stopped) { item.data.partiel = "1"; }
    delete item.at;
    queue.put(item).then(function () {
      screen.textContent = "";
      screen.appendChild(element("h2", {}, stopped ? texts.stopped : texts.done));
      if (!stopped && survey.end) { screen.appendChild(element("p", { "class": "said" }, survey.end)); }
      screen.appendChild(element("p", { "class": "waiting-note" }, texts.kept));
      screen.appendChild(element("p")).appendChild(button(texts.next, "big", function () {
        show(false);
        form.reset();
        form.querySelector("select").focus();
      }));
      return queue.render();
    }).then(queue.flush);
  }

  function run(item) {
    return definition().then(function (found) {
      var survey = found.languages[item.data.langue] || found.languages.fr;
      show(true);
      root.querySelector(".offline-note").textContent = texts.offline;
      ask(survey, item);
    }).catch(function () {
      show(true);
      screen.textContent = "";
      screen.appendChild(element("p", { "class": "field-error", role: "alert" }, texts.unavailable));
    });
  }

  form.addEventListener("submit", function (event) {
    if (navigator.onLine) { return; } // the server leads each screen
    event.preventDefault();
    var data = {};
    ["quartier", "action", "langue", "age", "genre"].forEach(function (name) {
      if (form.elements[name]) { data[name] = form.elements[name].value; }
    });
    data.client_id = queue.newId();
    var item = { client_id: data.client_id, url: sync, data: data, draft: true, at: 0, saved_at: new Date().toISOString() };
    queue.put(item).then(function () { run(item); });
  });

  draft().then(function (item) { if (item) { run(item); } }); // a reload mid-run resumes it
}());
