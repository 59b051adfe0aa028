// Copy-to-clipboard for buttons with data-copy-target="<selector>" (e.g. a new API key's secret).
// Delegated, so it also works for content htmx swaps in later. Falls back to selecting the
// text when the Clipboard API is unavailable (plain http, old browsers).
(function () {
  "use strict";
  if (window.wharfCopy) return;
  window.wharfCopy = true;

  function status(button, text) {
    var region = button.parentNode && button.parentNode.querySelector("[data-copy-status]");
    if (region) region.textContent = text;
  }

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest ? evt.target.closest("[data-copy-target]") : null;
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy-target"));
    if (!source) return;
    var text = (source.value !== undefined ? source.value : source.textContent).trim();
    var fallback = function () {
      selectText(source);
      status(button, "Press Ctrl+C (⌘C) to copy the selected text.");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        status(button, button.getAttribute("data-copied-text") || "Copied");
      }, fallback);
    } else {
      fallback();
    }
  });
})();
