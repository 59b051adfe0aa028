// Wharf's only script besides htmx: turns server events into toasts, tidies the area menus.
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
  // Area menus (<details class="navarea">) work without script; with it, one is open at a
  // time and a click elsewhere or Escape closes it (focus back on its summary).
  var areas = document.querySelectorAll("details.navarea");
  areas.forEach(function (menu) {
    menu.addEventListener("toggle", function () {
      if (!menu.open) return;
      areas.forEach(function (other) { if (other !== menu) other.open = false; });
    });
  });
  document.addEventListener("click", function (evt) {
    areas.forEach(function (menu) { if (menu.open && !menu.contains(evt.target)) menu.open = false; });
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    areas.forEach(function (menu) {
      if (!menu.open) return;
      menu.open = false;
      if (menu.contains(document.activeElement)) menu.querySelector("summary").focus();
    });
  });
  // Network failure (server down, Wi-Fi gap on the floor): say so instead of doing nothing.
  document.body.addEventListener("htmx:sendError", function () {
    showToast("Cannot reach Wharf — check the connection and try again.", "error");
  });
})();
