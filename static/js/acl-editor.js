// ACL editor: a module's "All (module.*)" switch checks and locks the features it covers.
(function () {
  "use strict";
  function sync(card) {
    var all = card.querySelector("input[data-all]");
    if (!all) return;
    card.querySelectorAll("input[data-feature]").forEach(function (box) {
      if (all.checked) {
        if (!box.disabled) box.dataset.before = box.checked ? "1" : "0";
        box.checked = true; box.disabled = true; box.title = "Covered by " + all.value;
      } else if (box.title.indexOf("Covered by " + all.value) === 0) {
        box.disabled = false; box.title = ""; box.checked = box.dataset.before === "1";
      }
    });
  }
  document.addEventListener("change", function (evt) {
    if (evt.target.matches(".acl-editor input[data-all]")) sync(evt.target.closest("fieldset"));
  });
})();
