// Wharf's only script besides htmx: turns server events into toasts.
(function () {
  "use strict";
  function showToast(message, level) {
    var region = document.getElementById("toasts");
    if (!region) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (level || "success");
    el.setAttribute("role", level === "error" ? "alert" : "status");
    el.textContent = message;
    region.appendChild(el);
    setTimeout(function () { el.remove(); }, level === "error" ? 8000 : 4000);
  }
  // HX-Trigger: {"wharf:toast": {"message": "...", "level": "success"}}
  document.body.addEventListener("wharf:toast", function (evt) {
    showToast(evt.detail.message, evt.detail.level);
  });
  // Error fragments swapped into #toasts by the server fade out on their own.
  document.body.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "toasts") {
      var last = evt.detail.target.lastElementChild;
      if (last) setTimeout(function () { last.remove(); }, 8000);
    }
  });
  // Network failure (server down, Wi-Fi gap on the floor): say so instead of doing nothing.
  document.body.addEventListener("htmx:sendError", function () {
    showToast("Cannot reach Wharf — check the connection and try again.", "error");
  });
})();
