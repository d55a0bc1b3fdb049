// Tableau de bord: Chart.js (served from /static/vendor, no CDN) draws the contributions per
// thème and per month as stacked bars. The numbers come from the `data-chart` attribute (the
// Content-Security-Policy forbids inline script); the table below holds the same numbers.
(function () {
  "use strict";

  function draw() {
    if (typeof window.Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var data = JSON.parse(canvas.dataset.chart);
      canvas.chart = new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: data.datasets.map(function (set) {
            return { label: set.label, data: set.data, backgroundColor: set.colour };
          })
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { position: "bottom" }, tooltip: { enabled: true } },
          scales: {
            x: { stacked: true },
            y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }
          }
        }
      });
      canvas.dataset.drawn = "true";
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
