// Builds the page of `dancesearch serve` into ../dancesearch/web/static/: app.js and app.css
// (minified, one file each, legal comments kept at the end) and index.html (copied as is).
// The output is committed so `pip install` needs no Node; CI rebuilds it and fails on any
// difference, so the build must give the same bytes every run: no dates, no absolute paths.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "dancesearch", "web", "static");
mkdirSync(out, { recursive: true });

const banner =
  "/*! dancesearch web page, MIT licence. Bundles three.js (MIT, Copyright 2010-2026 Three.js " +
  "Authors, https://threejs.org). Sources: web/src/ in the dancesearch repository. */";

await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: "src/main.js" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outdir: out,
  banner: { js: banner, css: banner },
  legalComments: "eof",
  charset: "utf8",
  sourcemap: false,
  logLevel: "info",
});
copyFileSync(join(here, "src", "index.html"), join(out, "index.html"));

// the API docs page (/docs) loads Swagger UI from here, not from a CDN, and starts it from a
// script file of its own (the server's Content-Security-Policy allows no inline script)
const swagger = join(here, "node_modules", "swagger-ui-dist");
mkdirSync(join(out, "docs"), { recursive: true });
for (const file of ["index.html", "init.js"]) copyFileSync(join(here, "src", "docs", file), join(out, "docs", file));
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE"]) {
  copyFileSync(join(swagger, file), join(out, "docs", file));
}
