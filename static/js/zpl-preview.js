// The label template page: draw the ZPL preview (the server's rendering of the template with
// sample data) as the printer would, with the vendored zpl-renderer-js — in the browser, offline.
// The renderer (9 MB, WebAssembly inside) is loaded only on this page, once.
(function () {
  "use strict";
  var script = document.currentScript;
  var loading = null;

  function renderer() {
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var tag = document.createElement("script");
        tag.src = script.dataset.renderer;
        tag.onload = function () { window.zpljs.ready.then(function (r) { resolve(r.api); }, reject); };
        tag.onerror = reject;
        document.head.appendChild(tag);
      });
    }
    return loading;
  }

  function draw(root) {
    var source = root.querySelector("[data-zpl-source]");
    var image = root.querySelector("[data-zpl-image]");
    var status = root.querySelector("[data-zpl-status]");
    if (!source || !image) return;
    renderer()
      .then(function (api) { return api.zplToBase64Async(source.textContent, 101.6, 152.4, 8); })
      .then(function (png) {
        image.src = "data:image/png;base64," + png;
        image.hidden = false;
        status.textContent = "";
      })
      .catch(function () { status.textContent = "The preview could not be drawn; the ZPL is below."; });
  }

  // The test print goes to the printer chosen in its form (each option is that printer's
  // test-print address).
  document.addEventListener("htmx:configRequest", function (e) {
    var form = e.detail.elt.closest && e.detail.elt.closest("[data-test-print]");
    if (form) e.detail.path = form.querySelector("select").value;
  });

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
})();
