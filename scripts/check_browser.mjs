// Open every chapter of the built book in headless Chromium, as a reader would, and check
// what the HTML checks (tests/rendered) cannot see: MathJax typeset every formula, every
// image loaded, no code cell scrolls sideways in a 1280-pixel-wide window, and the console
// shows no error and no failed request. Run by
// `make check-browser` (after `make book`); prints one line per page, exits 1 on a failure.
// Usage: node scripts/check_browser.mjs [html folder, default _build/html]
// The pages come from a static server on 127.0.0.1, as on GitHub Pages; any other request
// is blocked and counted as a failure, so the check also proves the book works offline.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

const root = process.argv[2] ?? "_build/html";
const pages = (existsSync(join(root, "book")) ? readdirSync(join(root, "book")) : [])
  .filter((name) => name.endsWith(".html"))
  .sort()
  .map((name) => `book/${name}`);
if (!pages.length) {
  console.error(`no pages in ${root}/book: run 'make book' first`);
  process.exit(1);
}

const types = {
  ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
  ".png": "image/png", ".woff": "font/woff", ".woff2": "font/woff2", ".json": "application/json",
};
const server = createServer((request, response) => {
  const path = join(root, normalize(decodeURIComponent(new URL(request.url, "http://x").pathname)));
  try {
    const body = readFileSync(statSync(path).isDirectory() ? join(path, "index.html") : path);
    response.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" });
    response.end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

// Debian's Chromium, never a downloaded one (playwright-core downloads nothing). Playwright
// gives it a fresh temporary profile; the flags keep it from calling home.
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
}).catch((error) => {
  console.error(`could not start Chromium at ${executablePath} (set CHROMIUM to another):`);
  console.error(error.message);
  process.exit(1);
});

// In the page: what MathJax left untypeset, and the images that did not load.
function inspect() {
  const math = [...document.querySelectorAll(".math")];
  const untypeset = math.filter((element) => !element.querySelector("mjx-container")).length;
  // Raw TeX delimiters left in the text, outside code (where they may be meant literally).
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const raw = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest("pre, code, script, style")) continue;
    const found = node.textContent.match(/\\\(|\\\)|\\\[|\\\]|\$\$/);
    if (found) raw.push(node.textContent.trim().replace(/\s+/g, " ").slice(0, 60));
  }
  const images = [...document.images];
  const broken = images.filter((image) => !(image.complete && image.naturalWidth > 0));
  // Code of at most 88 characters a line (book/ruff.toml) must fit the column.
  const scrolling = [...document.querySelectorAll(".cell_input pre")]
    .filter((pre) => pre.scrollWidth > pre.clientWidth + 1)
    .map((pre) => pre.textContent.split("\n").reduce((a, b) => (b.length > a.length ? b : a)));
  return {
    formulas: math.length, untypeset, raw, scrolling,
    typeset: document.querySelectorAll("mjx-container").length,
    images: images.length, broken: broken.map((image) => image.getAttribute("src")),
  };
}

let failed = 0;
const started = Date.now();
for (const page of pages) {
  const problems = [];
  const reported = new Set(); // URLs of failed requests, each reported once
  // A fresh context per page: a first-time reader's empty storage.
  const context = await browser.newContext();
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    reported.add(url);
    problems.push(`blocked a request to ${url}`);
    return route.abort("blockedbyclient");
  });
  const tab = await context.newPage();
  tab.on("console", (message) => {
    // "Failed to load resource" repeats a failed request, reported below with its URL.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  tab.on("pageerror", (error) => problems.push(`script error: ${error.message}`));
  tab.on("requestfailed", (request) => {
    if (!reported.has(request.url())) {
      problems.push(`failed request: ${request.url()} (${request.failure()?.errorText})`);
    }
  });
  tab.on("response", (response) => {
    if (response.status() >= 400) {
      reported.add(response.url());
      problems.push(`HTTP ${response.status()}: ${response.url()}`);
    }
  });
  try {
    await tab.goto(`${origin}/${page}`, { waitUntil: "load", timeout: 15000 });
    // MathJax typesets after the page loads; its startup promise settles when it is done.
    const mathjax = await tab.evaluate(async () => {
      if (!window.MathJax?.startup?.promise) return false;
      const late = new Promise((_, reject) =>
        setTimeout(() => reject(new Error("MathJax did not finish within 15 s")), 15000));
      await Promise.race([window.MathJax.startup.promise, late]);
      await document.fonts.ready;
      return true;
    });
    const seen = await tab.evaluate(inspect);
    if (seen.formulas && !mathjax) problems.push("MathJax did not load");
    if (seen.untypeset) problems.push(`${seen.untypeset} of ${seen.formulas} formulas not typeset`);
    if (seen.raw.length) problems.push(`raw TeX in ${seen.raw.length} places, first: ${seen.raw[0]}`);
    for (const src of seen.broken) problems.push(`image did not load: ${src}`);
    for (const line of seen.scrolling) problems.push(`code scrolls sideways: ${line.slice(0, 60)}…`);
    const summary = `${seen.typeset} formulas typeset, ${seen.images} images`;
    console.log(`${problems.length ? "FAIL" : "ok  "} ${page}: ${summary}`);
  } catch (error) {
    problems.push(error.message.split("\n")[0]);
    console.log(`FAIL ${page}`);
  }
  for (const problem of problems) console.log(`     ${problem}`);
  failed += problems.length ? 1 : 0;
  await context.close();
}
await browser.close();
server.close();
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`headless Chromium, ${pages.length} pages in ${seconds} s`);
console.log(`browser: ${pages.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
