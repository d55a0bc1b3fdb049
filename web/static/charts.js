// Charts of the back-office: Chart.js (served from /static/vendor, no CDN) draws every
// `canvas[data-chart]`. The numbers come from that attribute (the Content-Security-Policy forbids
// inline script); a table next to each chart holds the same numbers for screen readers and print.
// Two shapes: `{labels, data}` is one series of counts, drawn as horizontal bars (a question's
// answers); `{labels, datasets: [{label, data, colour}]}` is drawn as stacked bars with a legend
// (contributions per thème and per month).
(function () {
  "use strict";

  function config(data) {
    var common = { animation: false, responsive: true, maintainAspectRatio: false };
    var count = { beginAtZero: true, ticks: { precision: 0 } };
    if (!data.datasets) {
      return {
        type: "bar",
        data: { labels: data.labels, datasets: [{ data: data.data, backgroundColor: "#0b5cad" }] },
        options: Object.assign({
          indexAxis: "y",
          plugins: { legend: { display: false }, tooltip: { enabled: true } },
          scales: { x: count }
        }, common)
      };
    }
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (set) {
          return { label: set.label, data: set.data, backgroundColor: set.colour };
        })
      },
      options: Object.assign({
        plugins: { legend: { position: "bottom" }, tooltip: { enabled: true } },
        scales: { x: { stacked: true }, y: Object.assign({ stacked: true }, count) }
      }, common)
    };
  }

  function draw() {
    if (typeof window.Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      canvas.chart = new window.Chart(canvas, config(JSON.parse(canvas.dataset.chart)));
      canvas.dataset.drawn = "true";
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
