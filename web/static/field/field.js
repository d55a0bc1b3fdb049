// Paroles, field pages: entries wait in the browser (IndexedDB) and go when the network allows.
// Loaded as an external file (the Content-Security-Policy forbids inline script). Without it the
// forms still post and redirect as usual; with it, a form marked `data-queue` is saved on the
// phone first, each entry with an id made here, then sent as JSON. The server records each id
// once, so sending again after a lost answer is harmless. Nothing is deleted from the phone
// before the server said "recorded" (or "already recorded").
(function () {
  "use strict";

  var CACHE = "paroles-terrain-2"; // the service worker's cache (sw.js)
  var DB_NAME = "paroles-terrain";
  var STORE = "waiting";
  var box = document.querySelector("[data-waiting]");
  var busy = false;

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "client_id" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var request = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        tx.onerror = function () { db.close(); reject(tx.error); };
        tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function all() { return withStore("readonly", function (s) { return s.getAll(); }); }
  function put(item) { return withStore("readwrite", function (s) { return s.put(item); }); }
  function remove(id) { return withStore("readwrite", function (s) { return s.delete(id); }); }

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID().replace(/-/g, ""); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function say(text) {
    var note = box && box.querySelector(".waiting-note");
    if (note) { note.textContent = text; }
  }

  function render() {
    if (!box) { return Promise.resolve(); }
    return all().then(function (items) {
      items = items.filter(function (i) { return !i.draft; }); // a run still being answered
      var waiting = items.filter(function (i) { return !i.errors; }).length;
      var count = box.querySelector(".waiting-count");
      var text = waiting === 0 ? box.dataset.none : waiting === 1 ? box.dataset.one
        : box.dataset.many.replace("{n}", String(waiting));
      count.textContent = text;
      box.classList.toggle("has-waiting", waiting > 0);
      var list = box.querySelector(".refused");
      list.textContent = "";
      items.filter(function (i) { return i.errors; }).forEach(function (item) {
        var li = document.createElement("li");
        var reasons = Object.keys(item.errors).map(function (k) { return item.errors[k]; }).join(" ");
        var what = document.createElement("p");
        what.textContent = box.dataset.refused + " " + reasons;
        var words = document.createElement("p");
        words.className = "text";
        words.textContent = item.data.texte || "";
        li.appendChild(what);
        li.appendChild(words);
        var form = document.querySelector("form[data-queue]");
        if (form && target(form) === item.url) {
          var retake = document.createElement("button");
          retake.type = "button";
          retake.className = "secondary";
          retake.textContent = box.dataset.retake;
          retake.addEventListener("click", function () { retakeItem(form, item); });
          li.appendChild(retake);
        }
        list.appendChild(li);
      });
    });
  }

  function retakeItem(form, item) {
    Object.keys(item.data).forEach(function (name) {
      var field = form.elements[name];
      if (!field || name === "client_id" || name === "csrf_token") { return; }
      var values = [].concat(item.data[name]);
      if (field.length !== undefined && !field.tagName) {
        Array.prototype.forEach.call(field, function (f) { f.checked = values.indexOf(f.value) >= 0; });
      } else if (field.type === "checkbox" || field.type === "radio") {
        field.checked = values.indexOf(field.value) >= 0;
      } else {
        field.value = values[0];
      }
    });
    remove(item.client_id).then(render).then(function () {
      var text = form.querySelector("textarea");
      if (text) { text.focus(); }
    });
  }

  // Not `form.action`: a field named "action" (the field action's list) hides that property.
  function target(form) {
    return new URL(form.getAttribute("action") || location.href, location.href).href;
  }

  function formData(form) {
    var data = {};
    new FormData(form).forEach(function (value, name) {
      if (name === "csrf_token" || typeof value !== "string") { return; }
      if (Object.prototype.hasOwnProperty.call(data, name)) {
        data[name] = [].concat(data[name], value);
      } else {
        data[name] = value;
      }
    });
    // Several boxes ticked send a list; a single one, a list too, so the server reads one shape.
    Array.prototype.forEach.call(form.querySelectorAll("input[type=checkbox]"), function (box) {
      if (data[box.name] !== undefined && !Array.isArray(data[box.name])) { data[box.name] = [data[box.name]]; }
    });
    return data;
  }

  function clearForm(form) {
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.hasAttribute("data-keep") || field.type === "hidden" || field.type === "submit") { return; }
      if (field.type === "checkbox" || field.type === "radio") { field.checked = false; }
      else if (field.tagName === "SELECT") { field.selectedIndex = 0; }
      else { field.value = ""; }
    });
  }

  function onSubmit(event) {
    var form = event.target;
    var text = form.querySelector("textarea[required]");
    if (text && !text.value.trim()) {
      if (navigator.onLine) { return; } // the server says what is missing, next to the field
      event.preventDefault();
      var error = form.querySelector("#err-" + text.name);
      if (!error) {
        error = document.createElement("p");
        error.className = "field-error";
        error.id = "err-" + text.name;
        text.parentNode.appendChild(error);
      }
      error.textContent = text.dataset.missing;
      text.setAttribute("aria-invalid", "true");
      text.setAttribute("aria-describedby", error.id);
      text.focus();
      return;
    }
    event.preventDefault();
    var data = formData(form);
    data.client_id = newId();
    var item = { client_id: data.client_id, url: target(form), data: data, saved_at: new Date().toISOString() };
    put(item).then(function () {
      clearForm(form);
      say(box ? box.dataset.saved : "");
      var first = form.querySelector("textarea, input[type=radio], input[type=checkbox]");
      if (first) { first.focus(); }
      return render();
    }).then(flush);
  }

  function fetchToken() {
    return fetch(box.dataset.token, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!response.ok || response.redirected || !json) { throw new Error("login"); }
        return response.json();
      })
      .then(function (body) { return body.csrf_token; });
  }

  function send(item, token) {
    return fetch(item.url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token },
      body: JSON.stringify(item.data)
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if ((response.status === 200 || response.status === 201) && json) {
        return response.json().then(function (body) {
          if (body.status === "recorded" || body.status === "duplicate") {
            return remove(item.client_id).then(function () { say(box.dataset.sent); });
          }
          throw new Error("unexpected answer");
        });
      }
      if (response.status === 400 && json) {
        return response.json().then(function (body) { item.errors = body.errors || { all: "?" }; return put(item); });
      }
      if (response.status === 403 || response.status === 404) {
        item.errors = { all: box.dataset.forbidden };
        return put(item);
      }
      if (response.type === "opaqueredirect") { throw new Error("login"); }
      throw new Error("server " + response.status); // kept; tried again later
    });
  }

  function flush() {
    if (!box || busy || !navigator.onLine) { return Promise.resolve(); }
    busy = true;
    return all().then(function (items) {
      var pending = items.filter(function (i) { return !i.errors && !i.draft; });
      pending.sort(function (a, b) { return a.saved_at < b.saved_at ? -1 : 1; }); // oldest first
      if (!pending.length) { return undefined; }
      return fetchToken().then(function (token) {
        return pending.reduce(function (chain, item) {
          return chain.then(function () { return send(item, token); });
        }, Promise.resolve());
      });
    }).catch(function (error) {
      if (error && error.message === "login") { say(box.dataset.login); }
    }).then(function () { busy = false; return render(); });
  }

  // The action, quartier and language stay chosen from one habitant to the next, even when
  // the page comes from the worker's cache: the last choice is kept on the phone.
  function keepChoices(form) {
    var asked = new URLSearchParams(location.search);
    Array.prototype.forEach.call(form.querySelectorAll("select[data-keep]"), function (select) {
      var key = "paroles-terrain:" + select.name;
      var saved = null;
      try { saved = localStorage.getItem(key); } catch (e) { saved = null; }
      // The link's choice first (a cached page may be another URL's copy), then the last one.
      var wanted = asked.get(select.name) || saved;
      var known = wanted !== null && Array.prototype.some.call(select.options, function (o) { return o.value === wanted; });
      if (known) { select.value = wanted; }
      var remember = function () { try { localStorage.setItem(key, select.value); } catch (e) { /* private mode */ } };
      select.addEventListener("change", remember);
      remember();
    });
  }

  // The pages a run with no network needs (a survey's start page and its questions), kept in
  // the worker's cache while the network is there (links marked `data-offline`).
  function keepForLater() {
    if (!navigator.onLine || !window.caches) { return; }
    var urls = [];
    Array.prototype.forEach.call(document.querySelectorAll("[data-offline]"), function (link) {
      urls.push(link.href);
      if (link.dataset.offline) { urls.push(new URL(link.dataset.offline, location.href).href); }
    });
    if (!urls.length) { return; }
    caches.open(CACHE).then(function (cache) {
      urls.forEach(function (url) {
        fetch(url, { credentials: "same-origin" }).then(function (response) {
          if (response.ok && !response.redirected) { return cache.put(url, response); }
          return undefined;
        }).catch(function () { return undefined; });
      });
    });
  }

  // For the offline run of a survey (run.js): the same queue, the same counter.
  window.ParolesQueue = { put: put, remove: remove, all: all, flush: flush, render: render, newId: newId };

  Array.prototype.forEach.call(document.querySelectorAll("form[data-queue]"), function (form) {
    form.addEventListener("submit", onSubmit);
    keepChoices(form);
  });
  if (box && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(box.dataset.worker, { scope: "/terrain/" }).catch(function () {});
  }
  window.addEventListener("online", flush);
  window.setInterval(flush, 30000);
  render().then(flush);
  keepForLater();
}());
