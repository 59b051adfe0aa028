// "Select all" for bulk actions: <input data-select-all="NAME"> ticks every checkbox named NAME
// (with data-select-group="G": only those of them marked data-group="G", e.g. one SKU's units).
(function () {
  "use strict";
  document.addEventListener("change", function (evt) {
    var name = evt.target.getAttribute("data-select-all");
    if (!name) return;
    var form = evt.target.form || document;
    var group = evt.target.getAttribute("data-select-group");
    form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
      if (group === null || box.getAttribute("data-group") === group) box.checked = evt.target.checked;
    });
  });
})();
