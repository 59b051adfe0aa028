// File panel: dropping files on a panel's drop zone uploads them through the panel's own
// htmx form (the dropped files become the file input's value, then "change" fires).
(function () {
  "use strict";
  if (window.__wharfFilePanel) return;
  window.__wharfFilePanel = true;
  function zoneOf(el) { return el && el.closest ? el.closest("[data-dropzone]") : null; }
  document.addEventListener("dragover", function (e) {
    var zone = zoneOf(e.target);
    if (!zone) return;
    e.preventDefault();
    zone.classList.add("dragging");
  });
  document.addEventListener("dragleave", function (e) {
    var zone = zoneOf(e.target);
    if (zone && !zone.contains(e.relatedTarget)) zone.classList.remove("dragging");
  });
  // The panel has two file inputs (files, camera): send only the one holding files, so an
  // upload's first "file" part is never the other, empty one. Capture runs before htmx.
  document.addEventListener("change", function (e) {
    var zone = zoneOf(e.target);
    if (!zone || e.target.type !== "file") return;
    zone.querySelectorAll('input[type="file"]').forEach(function (input) {
      input.disabled = !input.files || !input.files.length;
    });
  }, true);
  document.addEventListener("htmx:afterRequest", function (e) {
    var zone = zoneOf(e.target);
    if (!zone) return;
    zone.querySelectorAll('input[type="file"]').forEach(function (input) { input.disabled = false; });
  });
  document.addEventListener("drop", function (e) {
    var zone = zoneOf(e.target);
    if (!zone) return;
    e.preventDefault();
    zone.classList.remove("dragging");
    var files = e.dataTransfer && e.dataTransfer.files;
    var input = zone.querySelector('input[data-upload="files"]');
    if (!files || !files.length || !input) return;
    input.files = files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();
