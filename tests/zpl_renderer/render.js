// Renders ZPL labels to PNG files with zpl-renderer-js (zebrash compiled to WebAssembly,
// inlined in the package: no network, no browser). One process renders a batch, since
// loading the engine costs about a second.
// stdin: JSON [{"zpl": "...", "width_mm": 101.5, "height_mm": 152.25, "dpmm": 8, "out": "a.png"}, ...]
"use strict";
const fs = require("node:fs");
const { ready } = require("zpl-renderer-js");

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
