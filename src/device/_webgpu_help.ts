// requestDevice's errors: where WebGPU is missing, what to do in this runtime. Each piece of advice
// is a sentence of its own, capitalized as written (a URL such as chrome://gpu must not be). The
// README's table of these messages must follow this file.
import type { Os, Runtime } from "./_runtime.ts";

const NO_ENTRY = "requestDevice: no WebGPU entry point (navigator.gpu)";
const NO_ADAPTER = "requestDevice: no WebGPU adapter";

const NODE_RECIPE = "`npm install webgpu` (Dawn's Node binding), then make " +
  '`import "webgpu-adagrad/node";` (JSR: "@webgpu-adagrad/core/node") your first import, ' +
  "which installs it as navigator.gpu; or pass it yourself: " +
  '`import { create, globals } from "webgpu"; Object.assign(globalThis, globals); ' +
  "const device = await requestDevice({ gpu: create([]) });`, or make it the global entry point " +
  "for every library first: `globalThis.navigator ??= {}; navigator.gpu = create([]);`";

const LINUX_CHROME = "does not turn WebGPU on by default on Linux yet: start it with " +
  "`--enable-unsafe-webgpu` (some GPUs also need `--enable-features=Vulkan`), or turn on " +
  "chrome://flags/#enable-unsafe-webgpu (edge://flags in Edge); chrome://gpu shows WebGPU's status";

// Every browser on iOS and iPadOS is WebKit: Safari's switch is the one that counts there.
const IOS_SWITCH = "Settings > Apps > Safari > Advanced > Feature Flags > WebGPU";

/** Where a browser has no `navigator.gpu` although the page is a secure context. */
function browserAdvice(browser: string, os: Os): string {
  if (os === "ios") {
    return "On iOS and iPadOS WebGPU is on by default from version 26 (every browser there " +
      `uses Safari's engine): update the OS, or turn it on in ${IOS_SWITCH}`;
  }
  switch (browser) {
    case "Chrome":
    case "Edge":
      return os === "linux"
        ? `${browser} ${LINUX_CHROME}`
        : `${browser} has WebGPU from version 113 on Windows, macOS and ChromeOS, and from 121 ` +
          "on Android 12 and later: update it; if it is current, chrome://gpu (edge://gpu) says " +
          "whether WebGPU was disabled by a policy, the GPU blocklist or turning hardware " +
          "acceleration off";
    case "Firefox":
      return "Firefox has WebGPU on by default on Windows from version 141, and other " +
        "platforms follow release by release; where it is still off (Linux, Android, older " +
        "macOS), set dom.webgpu.enabled to true in about:config or use Firefox Nightly, or use " +
        "Chrome or Edge";
    case "Safari":
      return "Safari has WebGPU on by default from Safari 26: update it; in an older Safari on " +
        "macOS turn it on in Develop > Feature Flags > WebGPU";
    default:
      return "Use a browser with WebGPU: Chrome or Edge 113+ (Windows, macOS, ChromeOS; " +
        "Android from 121), Safari 26+, or Firefox 141+ on Windows; on Linux, Chrome " +
        "started with `--enable-unsafe-webgpu`";
  }
}

/** The message for a runtime without `navigator.gpu` and no usable `gpu` option. */
export function noEntryPointMessage(runtime: Runtime): string {
  switch (runtime.kind) {
    case "deno":
      return `${NO_ENTRY} in Deno ${runtime.version}. Deno 2.8.3 (the version this package is ` +
        "tested on) has it without a flag; older versions need `--unstable-webgpu` on the " +
        'command line or `"unstable": ["webgpu"]` in deno.json. Or run `deno upgrade`.';
    case "node":
      return `${NO_ENTRY}: Node ${runtime.version} has no WebGPU of its own. ${NODE_RECIPE}.`;
    case "bun":
      return `${NO_ENTRY}: Bun ${runtime.version} has no WebGPU of its own. Either ` +
        '`bun add bun-webgpu`, then `import { setupGlobals } from "bun-webgpu"; await ' +
        "setupGlobals();` before requestDevice() (bun-webgpu 0.1.7 refuses any requiredLimits, " +
        'so not with `limits: "adapter"`), or use Node\'s binding as on Node: ' +
        NODE_RECIPE.replace("npm install", "bun add") + ".";
    case "browser":
      if (!runtime.secure) {
        return `${NO_ENTRY}: ${runtime.origin || "this page"} is not a secure context, and ` +
          "browsers give WebGPU only to secure contexts. Serve the page over https, or open it " +
          "as http://localhost or http://127.0.0.1 (not a LAN address, not a file:// page).";
      }
      return `${NO_ENTRY}: this browser has no WebGPU. ` +
        `${browserAdvice(runtime.browser, runtime.os)}.`;
    case "unknown":
      return `${NO_ENTRY} in this JavaScript runtime: pass the WebGPU entry point as \`gpu\` ` +
        "(on Node and Bun, `create([])` from the npm package `webgpu`).";
  }
}

/** The message for a `gpu` option that is not an entry point (no `requestAdapter`). */
export function badGpuOptionMessage(gpu: unknown): string {
  const got = typeof gpu === "function"
    ? "a function (the `create` function itself?)"
    : gpu === null
    ? "null"
    : typeof gpu === "object"
    ? "an object without a requestAdapter method (the `webgpu` module itself?)"
    : `${typeof gpu} ${String(gpu)}`;
  return `requestDevice: the gpu option must be a WebGPU entry point (a GPU, with a ` +
    `requestAdapter method), got ${got}. On Node and Bun pass the result of \`create([])\` ` +
    `from the npm package \`webgpu\`; elsewhere leave it out to use navigator.gpu.`;
}

/** What to check on `os` when a native runtime (Deno, Node's or Bun's Dawn) finds no adapter. */
function nativeAdapterAdvice(os: Os): string {
  switch (os) {
    case "linux":
      return "WebGPU runs on Vulkan here: install the GPU's Vulkan driver, or on a machine " +
        "without a GPU Mesa's software driver lavapipe (Mesa 25 or later; Debian and Ubuntu: " +
        "`apt install mesa-vulkan-drivers`). `vulkaninfo --summary` lists the devices Vulkan " +
        "sees; in a container, the GPU device and the Vulkan driver files must be visible inside";
    case "windows":
      return "WebGPU runs on Direct3D 12 here: update the GPU driver";
    case "macos":
      return "WebGPU runs on Metal here: update macOS";
    default:
      return "Install or update the GPU driver (WebGPU needs Vulkan, Direct3D 12 or Metal)";
  }
}

/** What to check in `browser` when it has WebGPU but no adapter. */
function browserAdapterAdvice(browser: string, os: Os): string {
  if (os === "ios") return `Check that ${IOS_SWITCH} is on, and update the OS`;
  switch (browser) {
    case "Chrome":
    case "Edge":
      return "Open chrome://gpu (edge://gpu in Edge) to see why" +
        (os === "linux"
          ? "; on Linux, start the browser with `--enable-unsafe-webgpu`, which also gives a " +
            "CPU fallback (SwiftShader) where there is no usable GPU"
          : "");
    case "Firefox":
      return "Open about:support, section WebGPU, to see why";
    case "Safari":
      return "Check that Develop > Feature Flags > WebGPU is on, and update the OS";
    default:
      return "The browser's GPU status page may say why";
  }
}

/** The message for a `requestAdapter()` that gave null. */
export function noAdapterMessage(runtime: Runtime, powerPreference?: string): string {
  const asked = powerPreference ? ` (asked with powerPreference "${powerPreference}")` : "";
  switch (runtime.kind) {
    case "deno":
    case "node":
    case "bun": {
      const name = { deno: "Deno", node: "Node", bun: "Bun" }[runtime.kind];
      return `${NO_ADAPTER}: ${name} found no GPU it can use${asked}. ` +
        `${nativeAdapterAdvice(runtime.os)}.`;
    }
    case "browser":
      return `${NO_ADAPTER}: the browser has WebGPU but gave no adapter${asked}: the GPU may be ` +
        "blocklisted, hardware acceleration turned off, or the GPU process crashed. " +
        `${browserAdapterAdvice(runtime.browser, runtime.os)}.`;
    case "unknown":
      return `${NO_ADAPTER}: requestAdapter() gave null${asked}: the WebGPU implementation ` +
        "found no GPU it can use; install or update the GPU driver.";
  }
}
