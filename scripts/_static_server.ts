// A static file server on 127.0.0.1 for the browser page and the browser tests. WebGPU needs a
// secure context, which http://127.0.0.1 is (file:// is not).
import { readFile } from "node:fs/promises";
import { extname, normalize } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wgsl": "text/plain; charset=utf-8",
  ".png": "image/png",
  ".ts": "text/plain; charset=utf-8",
};

/**
 * Serves `mounts` (URL prefix -> directory, e.g. `{ "/": ".web", "/npm/": "npm" }`) on
 * 127.0.0.1:`port` (0: any free port). Nothing outside those directories is served.
 */
export function serveStatic(
  mounts: Record<string, string>,
  port: number,
  onListen: (url: string) => void = () => {},
): Deno.HttpServer<Deno.NetAddr> {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  return Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: ({ port }) => onListen(`http://127.0.0.1:${port}/`),
  }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    const prefix = prefixes.find((p) => path.startsWith(p));
    const rest = normalize(path.slice(prefix?.length ?? 0) || "index.html");
    if (!prefix || rest.startsWith("..") || rest.startsWith("/")) {
      return new Response("not found", { status: 404 });
    }
    const file = `${mounts[prefix]}/${rest.endsWith("/") ? `${rest}index.html` : rest}`;
    try {
      return new Response(await readFile(file), {
        headers: {
          "content-type": TYPES[extname(file)] ?? "application/octet-stream",
          "cache-control": "no-store",
        },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}
