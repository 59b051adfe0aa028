// Toggle forms: show the value input that fits the chosen type; validate JSON as you type.
(function () {
  "use strict";
  function showType(form, type) {
    form.querySelectorAll(".typed-input").forEach(function (box) {
      var match = box.dataset.type === type;
      box.hidden = !match;
      box.querySelectorAll("input, textarea").forEach(function (el) { el.disabled = !match; });
    });
  }
  document.addEventListener("change", function (evt) {
    if (evt.target.matches("select[data-type-select]")) showType(evt.target.form, evt.target.value);
  });
  document.addEventListener("input", function (evt) {
    if (!evt.target.matches("textarea[data-json]")) return;
    try { JSON.parse(evt.target.value); evt.target.setCustomValidity(""); }
    catch (e) { evt.target.setCustomValidity("Not valid JSON: " + e.message); }
    evt.target.reportValidity();
  });
})();
