// The dashboard's one progressive touch; every page works without this file.
// Touch screens show no SVG <title> tooltips: pointing at or tapping a bar or an arc prints its figure
// under the chart. Keyboard and screen-reader users have each chart's description and its table.
(function () {
  "use strict";
  document.querySelectorAll("figure.chart").forEach(function (figure) {
    var svg = figure.querySelector("svg");
    if (!svg) { return; }
    var readout = document.createElement("p");
    readout.className = "chart-readout";
    readout.setAttribute("aria-live", "polite");
    svg.insertAdjacentElement("afterend", readout);
    function show(event) {
      var shape = event.target.closest("rect, circle");
      var title = shape && shape.querySelector("title");
      if (title) { readout.textContent = title.textContent; }
    }
    svg.addEventListener("mouseover", show);
    svg.addEventListener("click", show);
  });
})();
