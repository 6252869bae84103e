// The analytics page's daily chart: data comes from a json_script element (no inline script).
(function () {
  "use strict";
  function draw() {
    var canvas = document.getElementById("daily-chart");
    var source = document.getElementById("daily-chart-data");
    if (!canvas || !source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var colours = { accepted: "#0d6efd", delivered: "#198754", read: "#6f42c1", failed: "#dc3545" };
    var chart = new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s) {
          return { label: s.label, data: s.data, borderColor: colours[s.key], backgroundColor: colours[s.key],
                   tension: 0.2, pointRadius: 2, metric: s.key };
        }),
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        // A click on a point opens the messages behind that day's figure.
        onClick: function (event) {
          // The point under the pointer (the tooltip shows every series of the day; the click
          // means the one series clicked), else the nearest one.
          var elements = chart.getElementsAtEventForMode(event, "point", { intersect: true }, true);
          if (!elements.length) elements = chart.getElementsAtEventForMode(event, "nearest", { intersect: false }, true);
          if (!elements.length) return;
          var point = elements[0];
          var day = data.labels[point.index];
          var metric = chart.data.datasets[point.datasetIndex].metric;
          var url = new URL(canvas.dataset.drillUrl, window.location.href);
          url.searchParams.set("metric", metric);
          url.searchParams.set("date_from", day);
          url.searchParams.set("date_to", day);
          window.location.href = url.toString();
        },
      },
    });
    canvas.dataset.ready = "1";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
