// Results charts: Chart.js (served from /static/vendor, no CDN) draws each question's counts.
// The numbers come from the `data-chart` attribute (the Content-Security-Policy forbids inline
// script); the table next to each chart holds the same numbers for screen readers and printing.
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
          datasets: [{ data: data.data, backgroundColor: "#0b5cad" }]
        },
        options: {
          indexAxis: "y",
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { display: false }, tooltip: { enabled: true } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }
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
