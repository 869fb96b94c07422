#!/usr/bin/env node
// Loads the server's status page (`/`) in headless Chromium (Debian's /usr/bin/chromium driven
// by playwright-core) the way a person does: the page answers 401 with a Basic challenge and
// the browser sends the API key as the password.
//
//   node status_page.mjs <url> <api-key> <screenshot.png>
//
// Prints one JSON document: the title, the datasets listed with their freshness and lag text,
// the last runs, the chart (its SVG box and, per series, its bars), layout facts (overflow),
// and everything that went wrong: console errors, page errors, failed requests, HTTP errors,
// and requests to any other origin (there must be none: no CDN, no fonts from elsewhere).
// The Rust test crates/server/tests/status_page_browser.rs checks it against the store.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, apiKey, screenshot] = process.argv.slice(2);
if (!url || apiKey === undefined || !screenshot) {
  process.stderr.write("usage: node status_page.mjs <url> <api-key> <screenshot.png>\n");
  process.exit(2);
}

const CHROMIUM = "/usr/bin/chromium";
// What this closed network needs: no background connections (refused here), no QUIC, no GPU.
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function main() {
  const profile = mkdtempSync(join(tmpdir(), "status-page-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    // Sent after the server's 401 challenge, as a browser's login prompt would.
    httpCredentials: { username: "status", password: apiKey },
  });
  const origin = new URL(url).origin;
  const problems = { consoleErrors: [], pageErrors: [], failedRequests: [], httpErrors: [] };
  const requests = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (message) => {
      if (message.type() === "error") problems.consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => problems.pageErrors.push(String(error)));
    page.on("request", (request) => requests.push(request.url()));
    page.on("requestfailed", (request) =>
      problems.failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`),
    );
    page.on("response", (response) => {
      // The first answer to the page is the 401 that makes the browser send the key.
      if (response.status() >= 400 && response.status() !== 401) {
        problems.httpErrors.push(`${response.status()} ${response.url()}`);
      }
    });

    const response = await page.goto(url, { waitUntil: "load" });
    await page.waitForLoadState("networkidle");

    const facts = await page.evaluate(() => {
      const cells = (row) => [...row.querySelectorAll("td")].map((c) => c.textContent.trim());
      /** A table's rows as objects keyed by its header texts. */
      const table = (selector) => {
        const element = document.querySelector(selector);
        if (!element) return null;
        const headers = [...element.querySelectorAll("th")].map((h) => h.textContent.trim());
        return [...element.querySelectorAll("tr")]
          .filter((r) => r.querySelector("td"))
          .map((r) => Object.fromEntries(cells(r).map((text, i) => [headers[i], text])));
      };
      const box = (element) => {
        const r = element.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
      };
      const svg = document.querySelector("svg");
      const chart = svg && {
        id: svg.id || null,
        label: svg.getAttribute("aria-label"),
        box: box(svg),
        series: [...svg.querySelectorAll("[data-series]")].map((group) => {
          const bars = [...group.querySelectorAll("rect")];
          return {
            name: group.getAttribute("data-series"),
            fill: group.getAttribute("fill") ?? bars[0]?.getAttribute("fill") ?? null,
            bars: bars.length,
            nonZeroBars: bars.filter((b) => b.getBoundingClientRect().height > 0).length,
            values: bars.map((b) => Number(b.getAttribute("data-value"))),
            dates: bars.map((b) => b.getAttribute("data-date")),
          };
        }),
        rects: svg.querySelectorAll("rect").length,
        texts: [...svg.querySelectorAll("text")].map((t) => t.textContent),
        legend: [...svg.querySelectorAll("[data-legend]")].map((t) => t.textContent),
      };
      // Anything wider than the window, or text cut off by its box.
      const overflowing = [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map((e) => e.tagName.toLowerCase() + (e.id ? `#${e.id}` : ""));
      return {
        title: document.title,
        headings: [...document.querySelectorAll("h1, h2")].map((h) => h.textContent.trim()),
        datasets: table("#datasets"),
        runs: table("#runs"),
        chart,
        chartCaption: document.querySelector("#chart-caption")?.textContent?.trim() ?? null,
        horizontalScroll: document.documentElement.scrollWidth > document.documentElement.clientWidth,
        overflowing,
        links: [...document.querySelectorAll("a")].map((a) => a.getAttribute("href")),
      };
    });
    await page.screenshot({ path: screenshot, fullPage: true });
    const external = requests.filter((r) => !r.startsWith(`${origin}/`) && !r.startsWith("data:"));
    return {
      status: response?.status() ?? null,
      contentType: response?.headers()["content-type"] ?? null,
      browser: context.browser()?.version() ?? null,
      ...facts,
      requests,
      externalRequests: external,
      ...problems,
      screenshot,
    };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result, null, 1)}\n`),
  (error) => {
    process.stderr.write(`status_page: ${error.stack ?? error}\n`);
    process.exit(1);
  },
);
