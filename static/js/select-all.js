// "Select all" for bulk actions: <input data-select-all="NAME"> ticks every checkbox named NAME.
(function () {
  "use strict";
  document.addEventListener("change", function (evt) {
    var name = evt.target.getAttribute("data-select-all");
    if (!name) return;
    var form = evt.target.form || document;
    form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
      box.checked = evt.target.checked;
    });
  });
})();
