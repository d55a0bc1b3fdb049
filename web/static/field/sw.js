// Paroles, field pages: the service worker that keeps them working with no network.
// Pages under /terrain/ are fetched from the network first and kept in the cache when they
// answer; with no network the cached copy is served (the entry form when the page was never
// opened). Static files are served from the cache first. A survey's start page and its
// questions (`questions.json`) are kept as they are fetched, by the surveys list too (field.js),
// so that a survey can be run face to face with no network (run.js). Nothing is sent from here: the page
// itself sends the entries waiting in IndexedDB (field.js). A page marked `no-store` (the
// account's own entries) is never kept.
"use strict";

var CACHE = "paroles-terrain-2"; // field.js keeps the surveys' pages here too
var START = ["/terrain/", "/static/paroles.css", "/static/field/field.css", "/static/field/field.js", "/static/field/run.js", "/static/backoffice.js"];
var NEVER = ["/terrain/jeton", "/terrain/sw.js", "/terrain/mes-entrees"];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return Promise.all(START.map(function (url) {
        return fetch(url, { credentials: "same-origin" }).then(function (response) {
          if (response.ok && !response.redirected) { return cache.put(url, response); }
          return undefined;
        }).catch(function () { return undefined; });
      }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function keep(request, response) {
  var control = response.headers.get("Cache-Control") || "";
  if (!response.ok || response.redirected || control.indexOf("no-store") >= 0) { return response; }
  var copy = response.clone();
  caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
  return response;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || NEVER.indexOf(url.pathname) >= 0) { return; }
  if (url.pathname.indexOf("/terrain/") === 0) {
    event.respondWith(
      fetch(request).then(function (response) { return keep(request, response); }).catch(function () {
        return caches.match(request).then(function (hit) {
          return hit || caches.match(request, { ignoreSearch: true }).then(function (near) {
            return near || caches.match("/terrain/");
          });
        });
      })
    );
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(
      caches.match(request).then(function (hit) {
        return hit || fetch(request).then(function (response) { return keep(request, response); });
      })
    );
  }
});
