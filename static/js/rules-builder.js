// Rule editor: the visual condition and action builders are read back into JSON
// (conditionExpression, successActions, failureActions) whenever the form sends a request.
// Rows and groups are added and removed by htmx fragments; this file only serializes.
(function () {
  "use strict";

  function parseValue(text) {
    var t = (text || "").trim();
    if (t === "") return "";
    if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t) || t === "true" || t === "false" || t === "null" ||
        /^\[[\s\S]*\]$/.test(t) || /^\{[\s\S]*\}$/.test(t)) {
      try { return JSON.parse(t); } catch (e) { return text; }
    }
    return text;
  }

  function readNode(el) {
    if (el.dataset.node === "group") {
      var head = el.querySelector(":scope > .cond-head .cond-op");
      var rules = [];
      Array.prototype.forEach.call(el.querySelector(":scope > .cond-children").children, function (kid) {
        if (kid.dataset && kid.dataset.node) rules.push(readNode(kid));
      });
      return {operator: head ? head.value : "AND", rules: rules};
    }
    var node = {field: el.querySelector(".cond-field").value.trim(), operator: el.querySelector(".cond-operator").value};
    if (node.operator === "IS_EMPTY" || node.operator === "IS_NOT_EMPTY") return node;
    var raw = el.querySelector(".cond-value").value;
    if (el.querySelector(".cond-kind").value === "field") node.valueField = raw.trim();
    else node.value = parseValue(raw);
    return node;
  }

  function readAction(row) {
    var type = row.querySelector(".action-type").value;
    var main = row.querySelector(".action-main").value;
    var extra = row.querySelector(".action-extra").value;
    var config = {};
    if (type === "SET_FIELD") {
      config.field = main.trim();
      config.value = parseValue(extra);
    } else if (type === "EMIT_EVENT") {
      config.eventName = main.trim();
      if (extra.trim()) { try { config.payload = JSON.parse(extra); } catch (e) { config.payload = extra; } }
    } else {
      if (main.trim()) config.message = main;
      if (type === "LOG" && extra.trim()) config.level = extra.trim();
    }
    return {type: type, config: config};
  }

  function sync(form) {
    var out = {};
    var root = form.querySelector(".cond-root");
    if (root) out.conditionExpression = JSON.stringify(readNode(root));
    form.querySelectorAll("[data-actions]").forEach(function (list) {
      var rows = Array.prototype.filter.call(list.children, function (r) { return r.dataset.node === "action"; });
      out[list.dataset.actions + "Actions"] = JSON.stringify(rows.map(readAction));
    });
    Object.keys(out).forEach(function (name) {
      var box = form.querySelector('textarea[name="' + name + '"]');
      if (box) box.value = out[name];
    });
    return out;
  }

  function prepare(form) {
    // With this script the builders are the source of truth; the JSON view only shows them.
    var box = form.querySelector('textarea[name="conditionExpression"]');
    if (box) box.readOnly = true;
    sync(form);
  }

  document.body.addEventListener("htmx:configRequest", function (evt) {
    if (evt.detail.verb === "get") return;
    var form = evt.detail.elt.closest && evt.detail.elt.closest("[data-rule-form]");
    if (!form) return;
    var values = sync(form);
    Object.keys(values).forEach(function (name) { evt.detail.parameters[name] = values[name]; });
  });
  ["input", "change"].forEach(function (type) {
    document.body.addEventListener(type, function (evt) {
      var form = evt.target.closest && evt.target.closest("[data-rule-form]");
      if (form) sync(form);
    });
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-rule-form]").forEach(prepare);
  });
  document.querySelectorAll("[data-rule-form]").forEach(prepare);
})();
