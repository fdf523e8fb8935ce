/// <reference lib="dom" />
/**
 * Trains the training page on the whole corpus in headless Chromium (the CLI demo's defaults:
 * 4 epochs, batch 64, learning rate 0.2), prints its log (held-out accuracy, messages per second)
 * to compare with `deno task demo` on the same machine, and saves a screenshot of the trained
 * page: the one README.md shows.
 *
 *     deno run -A scripts/web_screenshot.ts [examples/web/trained_page.png] [--query chart=20]
 *
 * @module
 */
import process from "node:process";
import { launchChromium } from "./_browser.ts";
import { serveStatic } from "./_static_server.ts";
import { buildWeb, WEB_DIR } from "./_web_build.ts";

const args = process.argv.slice(2);
const q = args.indexOf("--query");
const query = q >= 0 ? `&${args.splice(q, 2)[1]}` : "";
const path = args[0] ?? "examples/web/trained_page.png";

await buildWeb();
let base = "";
const server = serveStatic({ "/": WEB_DIR }, 0, (url) => base = url);
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${base}?autostart=1${query}`);
  await page.waitForFunction(
    () => {
      const status = document.getElementById("status")!;
      return /^done:/.test(status.textContent!) || status.className === "fatal" ||
        !document.getElementById("error")!.hidden;
    },
    null,
    { timeout: 1_200_000, polling: 500 },
  );
  console.log(`Chromium ${browser.version()}, ${await page.textContent("#adapter")}`);
  console.log((await page.textContent("#log"))?.trim());
  const error = await page.$eval("#error", (e) => (e as HTMLElement).hidden ? "" : e.textContent);
  if (error) throw new Error(`the page shows an error: ${error}`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
} finally {
  await browser.close();
  await server.shutdown();
}
