// Wharf's only script besides htmx: turns server events into toasts, tidies the area menus.
(function () {
  "use strict";
  function showToast(message, level, undo) {
    var region = document.getElementById("toasts");
    if (!region) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (level || "success");
    el.setAttribute("role", level === "error" ? "alert" : "status");
    el.textContent = message;
    if (undo && undo.token && undo.url) {
      // An admin save's "Undo" (seed 000 …/actions/undo): the answer reloads the page, which
      // then shows the record as it was and says so in a toast.
      var button = document.createElement("button");
      button.type = "button";
      button.className = "toast-undo";
      button.textContent = "Undo";
      button.addEventListener("click", function (evt) {
        evt.stopPropagation();
        button.disabled = true;
        htmx.ajax("POST", undo.url, {source: document.body, target: "#toasts", swap: "beforeend", values: {undoToken: undo.token}});
      });
      el.appendChild(button);
    }
    region.appendChild(el);
    setTimeout(function () { el.remove(); }, level === "error" ? 8000 : (undo ? 8000 : 4000));
  }
  // A tap on a toast puts it away (on a phone it lies over the top bar for a few seconds).
  document.addEventListener("click", function (evt) {
    var toast = evt.target.closest && evt.target.closest("#toasts .toast");
    if (toast) toast.remove();
  });
  // The language menu: the page comes back in the new language (HX-Location) into <body>;
  // <html lang> is outside it, so it follows here.
  document.body.addEventListener("wharf:locale", function (evt) {
    document.documentElement.lang = evt.detail.lang;
  });
  // HX-Trigger: {"wharf:toast": {"message": "...", "level": "success"}}
  document.body.addEventListener("wharf:toast", function (evt) {
    showToast(evt.detail.message, evt.detail.level, evt.detail.undo);
  });
  // Error fragments swapped into #toasts by the server fade out on their own.
  document.body.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "toasts") {
      var last = evt.detail.target.lastElementChild;
      if (last) setTimeout(function () { last.remove(); }, 8000);
    }
  });
  // Scan feedback (HX-Trigger "wharf:scan" {ok, status}): a tone and a buzz per outcome —
  // ok/done, warning, error. <body data-scan-sound> is "off" when the tenant's lcs.scan.sound
  // toggle or the user's own switch (profile) says so; then the handheld stays silent and still.
  var sounds = {};
  var FEEDBACK = {
    ok: {sound: "scan-ok", buzz: 60},
    warning: {sound: "scan-warning", buzz: [80, 60, 80]},
    error: {sound: "scan-error", buzz: [200, 80, 200, 80, 200]}
  };
  function feedbackFor(detail) {
    var status = detail && detail.status;
    if (status === "ok" || status === "done") return FEEDBACK.ok;
    if (status === "warning" || status === "error") return FEEDBACK[status];
    return detail && detail.ok === false ? FEEDBACK.error : FEEDBACK.ok;
  }
  function play(name) {
    var audio = sounds[name] || (sounds[name] = new Audio(document.body.dataset.sounds + name + ".wav"));
    audio.currentTime = 0;
    audio.play().catch(function () { /* autoplay blocked until the first tap: stay silent */ });
  }
  document.body.addEventListener("wharf:scan", function (evt) {
    if (document.body.dataset.scanSound !== "on") return;
    var fb = feedbackFor(evt.detail);
    document.body.dataset.lastFeedback = fb.sound;  // what the handheld just did (tests read it)
    play(fb.sound);
    if (navigator.vibrate) navigator.vibrate(fb.buzz);
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
  // Long filter forms fold on a phone (<details data-open-wide>): open from 48rem, where they
  // fit beside the results; on a handheld the first entry stays in view until asked.
  if (window.matchMedia("(min-width: 48rem)").matches) {
    document.querySelectorAll("details[data-open-wide]").forEach(function (d) { d.open = true; });
  }
  // The profile's switch was saved: HX-Trigger "wharf:scan-feedback" {on}.
  document.body.addEventListener("wharf:scan-feedback", function (evt) {
    document.body.dataset.scanSound = evt.detail && evt.detail.on ? "on" : "off";
  });
  // Live views (hx-trigger="every 2s" with data-etag): send the ETag of what is shown, so an
  // unchanged view costs a bodiless 304 that htmx does not swap. Set by hand, the header also
  // keeps the browser's cache out of the way (it would turn the 304 into a 200 and a swap).
  document.body.addEventListener("htmx:configRequest", function (evt) {
    var etag = evt.detail.elt.getAttribute && evt.detail.elt.getAttribute("data-etag");
    if (etag && evt.detail.verb === "get") evt.detail.headers["If-None-Match"] = '"' + etag + '"';
  });
  // Network failure (server down, Wi-Fi gap on the floor): say so instead of doing nothing
  // (once per gap for the live views' polls, which retry on their own).
  var pollFailed = false;
  document.body.addEventListener("htmx:sendError", function (evt) {
    var poll = evt.detail.elt && evt.detail.elt.hasAttribute("data-etag");
    if (poll && pollFailed) return;
    pollFailed = pollFailed || poll;
    showToast("Cannot reach Wharf — check the connection and try again.", "error");
  });
  document.body.addEventListener("htmx:afterRequest", function (evt) {
    if (evt.detail.successful || (evt.detail.xhr && evt.detail.xhr.status === 304)) pollFailed = false;
  });
})();
