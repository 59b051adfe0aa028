// Scan stations (pick, pack): any form#scan-form[data-scan-url] with input#scan-input.
//
// Every code goes through send(): the scan input's Enter, a keyboard-wedge burst typed while the
// input had lost focus, the station's [data-scan-code] buttons and the camera. send() clears
// nothing and waits for nothing, so a wedge scanner can fire the next scan at once: htmx queues
// the requests (hx-sync="this:queue all" on the form), each with its code captured at send time.
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  var input = document.getElementById("scan-input");
  if (!form || !input || !form.dataset.scanUrl) return;

  function send(code, reason) {
    code = (code || "").trim();
    if (!code) return;
    var values = {code: code};
    if (reason) values.reason = reason;  // WHARF:MISSING: why the pick cannot be found
    // No `target` here: htmx.ajax would resolve it to the panel element *now*, and a queued
    // request would later swap into that element after the previous answer replaced it
    // (detached: the screen stayed on the first answer). The form's hx-target is looked up
    // when each queued request is actually issued.
    htmx.ajax("POST", form.dataset.scanUrl, {source: form, values: values, swap: "outerHTML"});
  }

  form.addEventListener("submit", function (evt) {
    evt.preventDefault();
    var code = input.value;
    input.value = "";
    send(code);
  });
  // A decoded barcode (the camera below, or anything else that reads one) is a scan like any other.
  form.addEventListener("wharf:decoded", function (evt) { send(evt.detail && evt.detail.code); });

  function isTextField(el) {
    if (!el || el === input) return false;
    if (el.isContentEditable || el.tagName === "TEXTAREA") return true;
    return el.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset|file|range|color|image)$/i.test(el.type);
  }
  // Focus goes back to the scan input — unless the person is typing in another field.
  function refocus() {
    if (!isTextField(document.activeElement)) input.focus();
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-scan-code]");
    if (!button) return;
    send(button.getAttribute("data-scan-code"), button.getAttribute("data-reason"));
    input.focus();
  });
  // "Can't find it" opens its reasons with the keyboard too (summary: Enter/Space); Escape
  // closes them and hands the keys back to the scanner.
  document.addEventListener("toggle", function (evt) {
    var details = evt.target;
    if (details.classList && details.classList.contains("short-pick") && details.open) {
      var first = details.querySelector("button");
      if (first) first.focus();
    }
  }, true);
  document.addEventListener("keydown", function (evt) {
    var details = evt.target.closest && evt.target.closest("details.short-pick");
    if (evt.key === "Escape" && details) {
      details.open = false;
      input.focus();
    }
  });
  // Closing ☰ Menu (the #navtoggle checkbox, by its label or Escape) or an area menu
  // (details.navarea) hands the keys back to the scanner: focus left on the menu ate the next scan.
  var navtoggle = document.getElementById("navtoggle");
  function menuOpen() { return !!(navtoggle && navtoggle.checked); }
  if (navtoggle) {
    navtoggle.addEventListener("change", function () { if (!navtoggle.checked) input.focus(); });
  }
  document.addEventListener("toggle", function (evt) {
    var details = evt.target;
    if (details.classList && details.classList.contains("navarea") && !details.open && !menuOpen()) input.focus();
  }, true);
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape" || !menuOpen()) return;
    navtoggle.checked = false;
    navtoggle.dispatchEvent(new Event("change", {bubbles: true}));
  });
  // A handheld has no mouse, and a tap elsewhere must not eat scans.
  document.addEventListener("htmx:afterSwap", refocus);
  document.addEventListener("click", function (evt) {
    if (!evt.target.closest("a, button, input, select, textarea, video, label, summary, details")) input.focus();
  });

  // --- keyboard wedge anywhere on the page ----------------------------------------------------
  // A scanner types far faster than a person: at least MIN_LENGTH characters, each within
  // GAP_MS of the previous one, then Enter. Such a burst is a scan wherever the focus was (a
  // button, the page, another field): sent, with the Enter swallowed and the field it landed
  // in put back as it was. Someone typing slowly in another field is left alone.
  var GAP_MS = 50;
  var MIN_LENGTH = 4;
  var burst = "";
  var lastKeyAt = 0;
  var before = null;  // the focused field as it was when the burst began

  function snapshot(el) {
    if (!isTextField(el) || el.isContentEditable) return null;
    var s = {el: el, value: el.value, start: null, end: null};
    try { s.start = el.selectionStart; s.end = el.selectionEnd; } catch (e) { /* no selection on this type */ }
    return s;
  }
  function putBack(s) {
    if (!s || s.el.value === s.value) return;
    s.el.value = s.value;
    try { if (s.start !== null) s.el.setSelectionRange(s.start, s.end); } catch (e) { /* no selection */ }
    s.el.dispatchEvent(new Event("input", {bubbles: true}));
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.target === input || evt.isComposing || evt.ctrlKey || evt.altKey || evt.metaKey) return;
    var now = performance.now();
    var quick = now - lastKeyAt <= GAP_MS;
    if (evt.key === "Enter") {
      if (quick && burst.length >= MIN_LENGTH) {
        evt.preventDefault();
        evt.stopPropagation();
        putBack(before);
        send(burst);
        refocus();
      }
      burst = "";
      before = null;
      return;
    }
    if (evt.key.length !== 1) {  // Shift is part of typing a capital; other keys end a burst
      if (evt.key !== "Shift") burst = "";
      return;
    }
    if (!quick || !burst) {
      burst = "";
      before = snapshot(evt.target);
    }
    burst += evt.key;
    lastKeyAt = now;
  }, true);

  // --- camera -------------------------------------------------------------------------------
  // Only where there is one (a video input, once the browser lists its devices). The browser's
  // own BarcodeDetector where it exists, else the vendored zxing-wasm polyfill (loaded on first
  // use; its .wasm is served from our static files, never from a CDN).
  var camera = form.querySelector("[data-camera-toggle]");
  var media = navigator.mediaDevices;
  if (!camera || !media || !media.getUserMedia) return;
  var panel = form.querySelector("[data-camera-panel]");
  var video = form.querySelector("[data-camera-video]");
  var status = form.querySelector("[data-camera-status]");
  var FORMATS = ["code_128", "ean_13", "ean_8", "upc_a", "upc_e", "itf", "code_39", "data_matrix", "qr_code"];
  var GONE_MS = 1000;  // a code held in front of the lens is one scan; out of view this long, it may count again
  var stream = null;
  var timer = null;
  var detectorPromise = null;
  var lastCode = "";
  var lastSeenAt = 0;
  var opening = 0;  // each start/stop moves it on: a camera that arrives after its close is let go
  if (media.enumerateDevices) {
    media.enumerateDevices().then(function (devices) {
      camera.hidden = !devices.some(function (d) { return d.kind === "videoinput"; });
    }).catch(function () { camera.hidden = false; });
  } else {
    camera.hidden = false;
  }

  function say(text) { status.textContent = text; }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error("cannot load the barcode reader")); };
      document.head.appendChild(s);
    });
  }
  function detector() {
    if (detectorPromise) return detectorPromise;
    if ("BarcodeDetector" in window) {
      detectorPromise = window.BarcodeDetector.getSupportedFormats().then(function (supported) {
        var formats = FORMATS.filter(function (f) { return supported.indexOf(f) >= 0; });
        return new window.BarcodeDetector(formats.length ? {formats: formats} : undefined);
      });
    } else {
      var wasm = camera.dataset.decoderWasm;
      detectorPromise = loadScript(camera.dataset.decoder).then(function () {
        var api = window.BarcodeDetectionAPI;
        api.prepareZXingModule({
          overrides: {locateFile: function (path, prefix) { return path.endsWith(".wasm") ? wasm : prefix + path; }}
        });
        return new api.BarcodeDetector({formats: FORMATS});
      });
    }
    detectorPromise.catch(function () { detectorPromise = null; });
    return detectorPromise;
  }

  function decoded(code) {
    var now = performance.now();
    var again = code === lastCode && now - lastSeenAt < GONE_MS;
    lastCode = code;
    lastSeenAt = now;
    if (!code || again) return;
    form.dispatchEvent(new CustomEvent("wharf:decoded", {detail: {code: code}}));
  }

  function watch(reader) {
    timer = setTimeout(function () {
      if (!stream) return;
      var ready = video.readyState >= 2 ? reader.detect(video) : Promise.resolve([]);
      ready.then(function (codes) {
        if (codes.length) decoded(codes[0].rawValue);
      }).catch(function () { /* a frame it could not read */ }).then(function () {
        if (stream) watch(reader);
      });
    }, 200);
  }

  function stop(message) {
    opening += 1;
    clearTimeout(timer);
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.srcObject = null;
    camera.setAttribute("aria-expanded", "false");
    camera.textContent = "Camera";
    if (message) say(message); else panel.hidden = true;
    input.focus();
  }

  function start() {
    var attempt = ++opening;
    panel.hidden = false;
    camera.setAttribute("aria-expanded", "true");
    camera.textContent = "Close camera";
    say("Starting the camera…");
    media.getUserMedia({video: {facingMode: {ideal: "environment"}}, audio: false}).then(function (s) {
      if (attempt !== opening) {  // closed (or reopened) while it was starting
        s.getTracks().forEach(function (t) { t.stop(); });
        return null;
      }
      stream = s;
      video.srcObject = s;
      video.play().catch(function () { /* muted inline video plays; a refusal shows a still */ });
      return detector();
    }).then(function (reader) {
      if (attempt !== opening || !reader) return;
      say("Hold a barcode in front of the camera.");
      watch(reader);
    }).catch(function (err) {
      if (attempt !== opening) return;
      stop(err && err.name === "NotAllowedError" ? "Camera access was refused."
        : "The camera cannot read barcodes here: " + (err && err.message));
    });
  }

  camera.addEventListener("click", function () {
    if (stream || camera.getAttribute("aria-expanded") === "true") stop(); else start();
  });
  window.addEventListener("pagehide", function () { if (stream) stop(); });
})();
