// requestDevice: the descriptor it builds, and its errors, checked with a stand-in entry point
// (the real one is used by every GPU test through tests/_gpu.ts). The errors say what to do in
// the runtime at hand: checked on this runtime with navigator.gpu hidden, and on every other one
// with faked globals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { requestDevice } from "../../mod.ts";
import { detectRuntime, type RuntimeGlobals } from "../../src/device/_runtime.ts";
import { noAdapterMessage, noEntryPointMessage } from "../../src/device/_webgpu_help.ts";

const LIMITS = {
  maxStorageBufferBindingSize: 1 << 30,
  maxBufferSize: 1 << 31,
  minStorageBufferOffsetAlignment: 32,
  maxComputeWorkgroupsPerDimension: 65535,
};

/** A GPU whose adapter records the descriptor it was asked for. */
function standIn(adapter: boolean) {
  const seen: { options?: unknown; descriptor?: GPUDeviceDescriptor } = {};
  const gpu = {
    requestAdapter(options?: unknown) {
      seen.options = options;
      return Promise.resolve(
        adapter
          ? {
            limits: LIMITS,
            requestDevice(descriptor: GPUDeviceDescriptor) {
              seen.descriptor = descriptor;
              return Promise.resolve({ label: descriptor.label ?? "" });
            },
          }
          : null,
      );
    },
  } as unknown as GPU;
  return { gpu, seen };
}

test("requestDevice asks for the adapter's buffer limits only when told to", async () => {
  const plain = standIn(true);
  await requestDevice({ gpu: plain.gpu });
  // No requiredLimits key at all: bun-webgpu 0.1.7 rejects even an empty object.
  assert.deepEqual(plain.seen.descriptor, {});
  assert.equal(plain.seen.options, undefined);

  const big = standIn(true);
  await requestDevice({
    gpu: big.gpu,
    limits: "adapter",
    powerPreference: "high-performance",
    requiredLimits: { maxComputeWorkgroupsPerDimension: 1000 },
    label: "trainer",
  });
  assert.deepEqual(big.seen.options, { powerPreference: "high-performance" });
  assert.deepEqual(big.seen.descriptor, {
    requiredLimits: {
      maxStorageBufferBindingSize: 1 << 30,
      maxBufferSize: 1 << 31,
      minStorageBufferOffsetAlignment: 32,
      maxComputeWorkgroupsPerDimension: 1000,
    },
    label: "trainer",
  });
});

test("requestDevice: a gpu option that is no entry point, no adapter, bad options", async () => {
  for (
    const [gpu, got] of [
      [{}, /got an object without a requestAdapter method \(the `webgpu` module itself\?\)/],
      [() => {}, /got a function \(the `create` function itself\?\)/],
      [null, /got null/],
      [3, /got number 3/],
    ] as const
  ) {
    await assert.rejects(requestDevice({ gpu: gpu as unknown as GPU }), {
      name: "TypeError",
      message: new RegExp(
        `^requestDevice: the gpu option must be a WebGPU entry point .*${got.source}.*` +
          "pass the result of `create\\(\\[\\]\\)` from the npm package `webgpu`",
      ),
    });
  }
  await assert.rejects(requestDevice({ gpu: standIn(false).gpu }), {
    name: "Error",
    message: /^requestDevice: no WebGPU adapter: /,
  });
  await assert.rejects(
    requestDevice({ gpu: standIn(true).gpu, limits: "all" as never }),
    { name: "RangeError", message: /limits must be "default" or "adapter"/ },
  );
  await assert.rejects(requestDevice(3 as never), TypeError);
});

/** Runs `fn` with `navigator.gpu` hidden (where there is one), then puts it back as it was. */
async function withoutNavigatorGpu<T>(fn: () => Promise<T>): Promise<T> {
  const nav = (globalThis as unknown as { navigator?: Record<string, unknown> }).navigator;
  if (!nav?.gpu) return await fn();
  const own = Object.getOwnPropertyDescriptor(nav, "gpu");
  Object.defineProperty(nav, "gpu", { value: undefined, configurable: true, writable: true });
  try {
    return await fn();
  } finally {
    if (own) Object.defineProperty(nav, "gpu", own);
    else delete nav.gpu; // the prototype's getter shows again
  }
}

/** This runtime, told apart without the package's own detection. */
function thisRuntime(): "Deno" | "Bun" | "Node" | "browser" {
  const g = globalThis as { Deno?: unknown; Bun?: unknown; process?: { versions?: object } };
  if (g.Deno) return "Deno";
  if (g.Bun) return "Bun";
  if (g.process?.versions && "node" in g.process.versions) return "Node";
  return "browser";
}

test("requestDevice without navigator.gpu names this runtime and what to do in it", async () => {
  const expected = {
    Deno: /^requestDevice: no WebGPU entry point \(navigator\.gpu\) in Deno \d.*--unstable-webgpu/,
    Node: /^requestDevice: no WebGPU entry point \(navigator\.gpu\): Node \d.*npm install webgpu/,
    Bun: /^requestDevice: no WebGPU entry point \(navigator\.gpu\): Bun \d.*bun add bun-webgpu/,
    browser: /^requestDevice: no WebGPU entry point \(navigator\.gpu\): this browser has no WebGPU/,
  }[thisRuntime()];
  await withoutNavigatorGpu(async () => {
    await assert.rejects(requestDevice(), { name: "TypeError", message: expected });
  });
  // No adapter: the runtime's own advice.
  const name = thisRuntime();
  await assert.rejects(requestDevice({ gpu: standIn(false).gpu }), {
    name: "Error",
    message: name === "browser"
      ? /^requestDevice: no WebGPU adapter: the browser has WebGPU but gave no adapter/
      : new RegExp(`^requestDevice: no WebGPU adapter: ${name} found no GPU it can use\\. `),
  });
});

const UA = {
  chromeLinux:
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
  chromeWindows:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  chromeAndroid:
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  edgeLinux:
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
  firefoxLinux: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  safariMac:
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  chromeIos:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1",
  other: "Mozilla/5.0 (X11; Linux x86_64) SomeBrowser/1.0",
};

/** A browser's globals: a secure https page unless told otherwise. */
function page(userAgent: string, origin = "https://example.com", secure = true): RuntimeGlobals {
  return {
    navigator: { userAgent },
    document: {},
    isSecureContext: secure,
    location: { origin, protocol: origin === "null" ? "file:" : origin.split("//")[0] },
  };
}

test("detectRuntime tells Deno, Node, Bun, browsers and their OS apart from the globals", () => {
  // Deno and Bun have `process` and a navigator too; they are asked for first.
  const deno = {
    Deno: { version: { deno: "2.8.3" }, build: { os: "linux" } },
    process: { versions: { node: "22.0.0" }, platform: "linux" },
    navigator: { userAgent: "Deno/2.8.3" },
  };
  assert.deepEqual(detectRuntime(deno), { kind: "deno", version: "2.8.3", os: "linux" });
  const bun = {
    Bun: { version: "1.4.5" },
    process: { versions: { node: "24.3.0", bun: "1.4.5" }, platform: "darwin" },
    navigator: { userAgent: "Bun/1.4.5" },
  };
  assert.deepEqual(detectRuntime(bun), { kind: "bun", version: "1.4.5", os: "macos" });
  assert.deepEqual(
    detectRuntime({ process: { versions: { node: "20.19.0" }, platform: "win32" } }),
    { kind: "node", version: "20.19.0", os: "windows" },
  );
  const expected: [keyof typeof UA, string, string][] = [
    ["chromeLinux", "Chrome", "linux"],
    ["chromeWindows", "Chrome", "windows"],
    ["chromeAndroid", "Chrome", "android"],
    ["edgeLinux", "Edge", "linux"],
    ["firefoxLinux", "Firefox", "linux"],
    ["safariMac", "Safari", "macos"],
    ["chromeIos", "Chrome", "ios"],
    ["other", "other", "linux"],
  ];
  for (const [ua, browser, os] of expected) {
    assert.deepEqual(detectRuntime(page(UA[ua])), {
      kind: "browser",
      browser,
      os,
      secure: true,
      origin: "https://example.com",
    }, ua);
  }
  assert.deepEqual(detectRuntime(page(UA.firefoxLinux, "null", false)), {
    kind: "browser",
    browser: "Firefox",
    os: "linux",
    secure: false,
    origin: "a file:// page",
  });
  assert.deepEqual(detectRuntime({}), { kind: "unknown" });
});

test("no entry point: each runtime's message says what to do there", () => {
  const message = (g: RuntimeGlobals) => noEntryPointMessage(detectRuntime(g));
  const prefix = "requestDevice: no WebGPU entry point (navigator.gpu)";
  const cases: [string, RuntimeGlobals, RegExp[]][] = [
    ["Deno", { Deno: { version: { deno: "2.0.6" } } }, [
      /in Deno 2\.0\.6\. Deno 2\.8\.3 .* has it without a flag/,
      /older versions need `--unstable-webgpu` on the command line or `"unstable": \["webgpu"\]` in deno\.json/,
      /deno upgrade/,
    ]],
    ["Node", { process: { versions: { node: "22.12.0" } } }, [
      /: Node 22\.12\.0 has no WebGPU of its own\./,
      /`npm install webgpu`/,
      /Object\.assign\(globalThis, globals\); const device = await requestDevice\(\{ gpu: create\(\[\]\) \}\);/,
      /globalThis\.navigator \?\?= \{\}; navigator\.gpu = create\(\[\]\);/,
    ]],
    ["Bun", { Bun: { version: "1.4.5" }, process: { versions: { bun: "1.4.5" } } }, [
      /: Bun 1\.4\.5 has no WebGPU of its own\./,
      /`bun add bun-webgpu`, then `import \{ setupGlobals \} from "bun-webgpu"; await setupGlobals\(\);`/,
      /not with `limits: "adapter"`/,
      /`bun add webgpu`/,
      /requestDevice\(\{ gpu: create\(\[\]\) \}\)/,
    ]],
    ["insecure page", page(UA.chromeWindows, "http://192.168.1.20:8000", false), [
      /: http:\/\/192\.168\.1\.20:8000 is not a secure context/,
      /over https, or open it as http:\/\/localhost or http:\/\/127\.0\.0\.1/,
    ]],
    ["file:// page", page(UA.firefoxLinux, "null", false), [
      /: a file:\/\/ page is not a secure context/,
    ]],
    ["Chrome on Linux", page(UA.chromeLinux), [
      /this browser has no WebGPU\. Chrome does not turn WebGPU on by default on Linux yet/,
      /--enable-unsafe-webgpu/,
      /chrome:\/\/flags\/#enable-unsafe-webgpu/,
    ]],
    ["Edge on Linux", page(UA.edgeLinux), [/Edge does not turn WebGPU on/, /edge:\/\/flags/]],
    ["Chrome on Windows", page(UA.chromeWindows), [
      /Chrome has WebGPU from version 113 on Windows, macOS and ChromeOS/,
      /chrome:\/\/gpu/,
    ]],
    ["Chrome on Android", page(UA.chromeAndroid), [/from 121 on Android 12/]],
    ["Firefox", page(UA.firefoxLinux), [
      /Firefox has WebGPU on by default on Windows from version 141/,
      /dom\.webgpu\.enabled to true in about:config/,
      /Firefox Nightly/,
    ]],
    ["Safari", page(UA.safariMac), [/from Safari 26/, /Develop > Feature Flags > WebGPU/]],
    ["an iOS browser", page(UA.chromeIos), [
      /iOS and iPadOS .* from version 26/,
      /Settings > Apps > Safari/,
    ]],
    ["another browser", page(UA.other), [/Chrome or Edge 113\+/, /Safari 26\+/, /Firefox 141\+/]],
    ["an unknown runtime", {}, [
      /in this JavaScript runtime: pass the WebGPU entry point as `gpu`/,
    ]],
  ];
  for (const [name, globals, patterns] of cases) {
    const text = message(globals);
    assert.ok(text.startsWith(prefix), `${name}: ${text}`);
    for (const pattern of patterns) assert.match(text, pattern, name);
  }
});

test("no adapter: each runtime's message says what to check there", () => {
  const message = (g: RuntimeGlobals, power?: string) => noAdapterMessage(detectRuntime(g), power);
  const cases: [string, RuntimeGlobals, RegExp[]][] = [
    ["Deno on Linux", { Deno: { version: { deno: "2.8.3" }, build: { os: "linux" } } }, [
      /Deno found no GPU it can use\. WebGPU runs on Vulkan here/,
      /lavapipe \(Mesa 25 or later; Debian and Ubuntu: `apt install mesa-vulkan-drivers`\)/,
      /vulkaninfo --summary/,
    ]],
    ["Node on Windows", { process: { versions: { node: "22.12.0" }, platform: "win32" } }, [
      /Node found no GPU it can use\. WebGPU runs on Direct3D 12 here: update the GPU driver/,
    ]],
    ["Bun on macOS", { Bun: {}, process: { versions: { bun: "1.4.5" }, platform: "darwin" } }, [
      /Bun found no GPU it can use\. WebGPU runs on Metal here: update macOS/,
    ]],
    ["Chrome on Linux", page(UA.chromeLinux), [
      /the browser has WebGPU but gave no adapter: the GPU may be blocklisted/,
      /chrome:\/\/gpu .*--enable-unsafe-webgpu.*SwiftShader/,
    ]],
    ["Firefox", page(UA.firefoxLinux), [/about:support, section WebGPU/]],
    ["Safari", page(UA.safariMac), [/Develop > Feature Flags > WebGPU/]],
    ["an iOS browser", page(UA.chromeIos), [/Settings > Apps > Safari > Advanced > Feature Flags/]],
    ["an unknown runtime", {}, [/requestAdapter\(\) gave null/]],
  ];
  for (const [name, globals, patterns] of cases) {
    const text = message(globals);
    assert.ok(text.startsWith("requestDevice: no WebGPU adapter: "), `${name}: ${text}`);
    for (const pattern of patterns) assert.match(text, pattern, name);
  }
  assert.match(
    message({ process: { versions: { node: "22.12.0" }, platform: "linux" } }, "low-power"),
    /found no GPU it can use \(asked with powerPreference "low-power"\)\./,
  );
});

test("requestDevice: limits the adapter refuses are named in the error", async () => {
  // What bun-webgpu 0.1.7 does with any requiredLimits.
  const refusing = {
    requestAdapter: () =>
      Promise.resolve({
        limits: LIMITS,
        requestDevice: (d: GPUDeviceDescriptor) =>
          d.requiredLimits
            ? Promise.reject(
              new DOMException("Value must be between 0 and 0, got 8", "OperationError"),
            )
            : Promise.resolve({}),
      }),
  } as unknown as GPU;
  await assert.rejects(requestDevice({ gpu: refusing, limits: "adapter" }), (e: Error) => {
    assert.match(
      e.message,
      /^requestDevice: the adapter refused the limits \{"maxStorageBufferBindingSize":1073741824,/,
    );
    assert.match(e.message, /\(OperationError: Value must be between 0 and 0, got 8\)/);
    if ("Bun" in globalThis) assert.match(e.message, /on Bun, use Node's `webgpu` instead/);
    assert.equal((e.cause as Error).message, "Value must be between 0 and 0, got 8");
    return true;
  });
  // Without limits nothing is wrapped: the device comes back.
  assert.deepEqual(await requestDevice({ gpu: refusing }), {});
});
