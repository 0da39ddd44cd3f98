// Small behaviours of our own pages; no framework, no network.
(function () {
  "use strict";
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
