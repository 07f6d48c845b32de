"use strict";
// Case board: filter (unit, category, status, overdue, text) and sort by any column, all in the page.
(function () {
  var table = document.getElementById("case-table");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var unit = document.getElementById("f-unit");
  var cat = document.getElementById("f-category");
  var status = document.getElementById("f-status");
  var overdue = document.getElementById("f-overdue");
  var text = document.getElementById("f-text");
  var shown = document.getElementById("shown-count");
  function apply() {
    var q = (text.value || "").toLowerCase();
    var n = 0;
    rows.forEach(function (r) {
      var ok = (unit.value === "*" || r.getAttribute("data-unit") === unit.value)
        && (cat.value === "*" || r.getAttribute("data-category") === cat.value)
        && (status.value === "*" || (status.value === "active" ? r.getAttribute("data-active") === "1"
            : r.getAttribute("data-status") === status.value))
        && (!overdue.checked || r.getAttribute("data-overdue") === "1")
        && (!q || r.textContent.toLowerCase().indexOf(q) !== -1);
      r.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = String(n);
  }
  [unit, cat, status, overdue].forEach(function (el) { el.addEventListener("change", apply); });
  text.addEventListener("input", apply);
  table.querySelectorAll("th[data-key] button").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var th = btn.parentNode;
      var key = th.getAttribute("data-key");
      var numeric = th.getAttribute("data-type") === "number";
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      table.querySelectorAll("th[data-key]").forEach(function (o) { o.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      rows.sort(function (a, b) {
        var x = a.getAttribute("data-" + key) || "", y = b.getAttribute("data-" + key) || "";
        if (numeric) { return dir * ((parseFloat(x) || 0) - (parseFloat(y) || 0)); }
        return dir * x.localeCompare(y);
      });
      rows.forEach(function (r) { tbody.appendChild(r); });
    });
  });
  apply();
  document.documentElement.setAttribute("data-js", "ready");
})();
