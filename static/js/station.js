// Scan station: every Enter sends the code typed so far and clears the input at once, so a
// keyboard-wedge scanner can fire the next scan immediately. htmx queues the requests
// (hx-sync="this:queue all" on the form) with each code captured at the moment of Enter.
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  if (!form) return;
  var input = document.getElementById("scan-input");
  function send(code, reason) {
    if (!code) return;
    var values = {code: code};
    if (reason) values.reason = reason;  // WHARF:MISSING: why the pick cannot be found
    // No `target` here: htmx.ajax would resolve it to the panel element *now*, and a queued
    // request would later swap into that element after the previous answer replaced it
    // (detached: the screen stayed on the first answer). The form's hx-target="#station-panel"
    // is looked up when each queued request is actually issued.
    htmx.ajax("POST", form.dataset.scanUrl, {source: form, values: values, swap: "outerHTML"});
  }
  form.addEventListener("submit", function (evt) {
    evt.preventDefault();
    var code = input.value.trim();
    input.value = "";
    send(code);
  });
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-scan-code]");
    if (!button) return;
    send(button.getAttribute("data-scan-code"), button.getAttribute("data-reason"));
    input.focus();
  });
  // "Can't find it" opens its reasons with the keyboard too (summary: Enter/Space); Escape
  // closes them and hands the keys back to the scanner.
  document.addEventListener("toggle", function (evt) {
    var details = evt.target;
    if (details.classList && details.classList.contains("short-pick") && details.open) {
      var first = details.querySelector("button");
      if (first) first.focus();
    }
  }, true);
  document.addEventListener("keydown", function (evt) {
    var details = evt.target.closest && evt.target.closest("details.short-pick");
    if (evt.key === "Escape" && details) {
      details.open = false;
      input.focus();
    }
  });
  // The input always has focus: a handheld has no mouse, and a tap elsewhere must not eat scans.
  document.addEventListener("htmx:afterSwap", function () { input.focus(); });
  document.addEventListener("click", function (evt) {
    if (!evt.target.closest("a, button, input, select, textarea, summary, details")) input.focus();
  });
})();
