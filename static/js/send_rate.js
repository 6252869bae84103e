// The campaign page's send-rate chart: accepted sends per minute, refreshed while it runs.
(function () {
  "use strict";
  function start() {
    var canvas = document.getElementById("send-rate-chart");
    if (!canvas || typeof Chart === "undefined") return;
    var chart = new Chart(canvas, {
      type: "bar",
      data: { labels: [], datasets: [{ label: canvas.dataset.label, data: [], backgroundColor: "#0d6efd" }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
                 plugins: { legend: { display: false } } },
    });
    function load() {
      fetch(canvas.dataset.url, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          // The server's "HH:MM" in the workspace's time zone, as the rest of the page.
          chart.data.labels = body.times;
          chart.data.datasets[0].data = body.data;
          chart.update();
          canvas.dataset.ready = "1";
        });
    }
    load();
    if (canvas.dataset.live) setInterval(load, 5000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
