// Renders ZPL labels to PNG files with zpl-renderer-js (zebrash compiled to WebAssembly), the
// copy vendored for the label template's preview (static/vendor): no network, no npm, no
// browser. One process renders a batch, since loading the engine costs about a second.
// stdin: JSON [{"zpl": "...", "width_mm": 101.5, "height_mm": 152.25, "dpmm": 8, "out": "a.png"}, ...]
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const bundle = path.join(__dirname, "..", "..", "static", "vendor", "zpl-renderer-3.4.0.umd.js");
vm.runInThisContext(fs.readFileSync(bundle, "utf8"), { filename: bundle }); // defines the global zpljs
const { ready } = globalThis.zpljs;

(async () => {
  const jobs = JSON.parse(fs.readFileSync(0, "utf8"));
  const { api } = await ready;
  for (const job of jobs) {
    const png = await api.zplToBase64Async(job.zpl, job.width_mm, job.height_mm, job.dpmm);
    fs.writeFileSync(job.out, Buffer.from(png, "base64"));
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
