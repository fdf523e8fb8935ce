/**
 * `deno task web`: builds the spam classifier's training page (examples/web/) into .web/ and
 * serves it on http://127.0.0.1:8000 (`--port N` for another port). The page trains in the
 * browser on WebGPU; `?epochs=1&limit=600&autostart=1` starts it unattended. tests.html runs the
 * package's reference tests in the same browser.
 *
 *     deno task web [--port 8000]
 *
 * @module
 */
import process from "node:process";
import { buildWeb, WEB_DIR } from "./_web_build.ts";
import { serveStatic } from "./_static_server.ts";

const args = process.argv.slice(2);
let port = 8000;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--port") {
    port = Number(args[++i]);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      console.error(`--port needs a port number (0 to 65535), got ${args[i]}`);
      process.exit(2);
    }
  } else {
    console.error(`unknown option ${args[i]}; options: --port N`);
    process.exit(2);
  }
}

await buildWeb();
try {
  serveStatic({ "/": WEB_DIR }, port, (url) => {
    console.log(`training page: ${url}`);
    console.log(`unattended:    ${url}?epochs=1&limit=600&autostart=1`);
    console.log(`tests:         ${url}tests.html`);
    console.log(
      "Chrome on Linux without a GPU: chromium --enable-unsafe-webgpu " +
        '(README.md, "In the browser"). Ctrl-C stops the server.',
    );
  });
} catch (e) {
  if (e instanceof Deno.errors.AddrInUse) {
    console.error(`port ${port} is in use; pass another with --port N`);
    process.exit(1);
  }
  throw e;
}
