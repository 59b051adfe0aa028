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
  // Scan feedback (HX-Trigger "wharf:scan" {ok: true|false}); the lcs.scan.sound toggle
  // decides, per tenant, whether the handheld beeps.
  var sounds = {};
  function play(name) {
    if (document.body.dataset.scanSound !== "on") return;
    var audio = sounds[name] || (sounds[name] = new Audio(document.body.dataset.sounds + name + ".wav"));
    audio.currentTime = 0;
    audio.play().catch(function () { /* autoplay blocked until the first tap: stay silent */ });
  }
  document.body.addEventListener("wharf:scan", function (evt) {
    play(evt.detail && evt.detail.ok === false ? "scan-error" : "scan-ok");
  });
  // Network failure (server down, Wi-Fi gap on the floor): say so instead of doing nothing.
  document.body.addEventListener("htmx:sendError", function () {
    showToast("Cannot reach Wharf — check the connection and try again.", "error");
  });
})();
