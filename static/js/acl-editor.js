// ACL editor: a module's "All (module.*)" switch ticks and locks the features it covers; unticking it
// unlocks them to their own grant (data-before), so the form submits exactly what it shows.
(function () {
  "use strict";
  function sync(card) {
    var all = card.querySelector("input[data-all]");
    if (!all) return;
    card.querySelectorAll("input[data-feature]:not([data-locked])").forEach(function (box) {
      if (all.checked) {
        if (!box.disabled) box.dataset.before = box.checked ? "1" : "0";
        box.checked = true; box.disabled = true; box.title = "Covered by " + all.value;
      } else if (box.disabled) {
        box.disabled = false; box.title = ""; box.checked = box.dataset.before === "1";
      }
    });
  }
  document.addEventListener("change", function (evt) {
    if (evt.target.matches(".acl-editor input[data-all]")) sync(evt.target.closest("fieldset"));
  });
})();
