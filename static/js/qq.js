// Small behaviours of our own pages; no framework, no network.
(function () {
  "use strict";
  // Lists (issue 11): cells stay on one line, except long texts (reasons, measures, file
  // names, e-mail lists), which wrap so the list fits a 1366-px laptop without scrolling
  // sideways; a time may go under its date. Money never wraps (its cell holds a .qq-money span).
  var LONG_TEXT = 20;
  var WHEN = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/;
  function wrapLongCells() {
    var cells = document.querySelectorAll("table.model-list td");
    Array.prototype.forEach.call(cells, function (td) {
      if (td.querySelector(".qq-money")) return;
      var text = td.textContent.trim();
      if (WHEN.test(text)) td.classList.add("qq-when");  // date over time, if space is short
      else if (text.length > LONG_TEXT) td.classList.add("qq-wrap");
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wrapLongCells);
  } else {
    wrapLongCells();
  }
  // File fields (templates/admin/_file_input.html): show the chosen file names in Chinese.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("qq-file-input")) return;
    var box = input.closest(".qq-file");
    var out = box && box.querySelector(".qq-file-name");
    if (!out) return;
    var files = input.files || [];
    if (files.length === 0) {
      out.textContent = box.getAttribute("data-empty");
    } else if (files.length === 1) {
      out.textContent = files[0].name;
    } else {
      out.textContent = box.getAttribute("data-count").replace("{n}", files.length);
    }
    out.title = Array.prototype.map.call(files, function (f) { return f.name; }).join("\n");
  });
})();
