"use strict";
// Flight report: category filter for cards and markers; hover a marker to read the finding.
(function () {
  var info = document.getElementById("map-info");
  var markers = document.querySelectorAll(".marker");
  function cardFor(m) { return document.getElementById(m.getAttribute("data-anchor")); }
  markers.forEach(function (m) {
    m.addEventListener("click", function () {
      // A counted object's row sits in a closed <details>: open it so the jump lands somewhere visible.
      var c = cardFor(m);
      var d = c && c.closest("details");
      if (d) { d.open = true; }
    });
    m.addEventListener("mouseenter", function () {
      if (info) { info.textContent = m.getAttribute("data-info"); }
      var c = cardFor(m); if (c) { c.classList.add("hl"); }
    });
    m.addEventListener("mouseleave", function () {
      var c = cardFor(m); if (c) { c.classList.remove("hl"); }
    });
  });
  document.querySelectorAll(".card[data-finding], details.counted tr[data-finding]").forEach(function (card) {
    var id = card.getAttribute("data-finding");
    card.addEventListener("mouseenter", function () {
      markers.forEach(function (m) { if (m.getAttribute("data-finding") === id) { m.classList.add("hl"); } });
    });
    card.addEventListener("mouseleave", function () {
      markers.forEach(function (m) { m.classList.remove("hl"); });
    });
  });
  var buttons = document.querySelectorAll(".filters button[data-label]");
  buttons.forEach(function (b) {
    b.addEventListener("click", function () {
      var label = b.getAttribute("data-label");
      buttons.forEach(function (o) { o.setAttribute("aria-pressed", String(o === b)); });
      document.querySelectorAll("[data-finding][data-label]").forEach(function (el) {
        var show = label === "*" || el.getAttribute("data-label") === label;
        if (show) { el.removeAttribute("hidden"); el.style.display = ""; }
        else if (el.tagName.toLowerCase() !== "a") { el.setAttribute("hidden", ""); }
        else { el.style.display = "none"; }
      });
    });
  });
  document.documentElement.setAttribute("data-js", "ready");
})();
