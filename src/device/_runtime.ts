// Which JavaScript runtime (and, in a browser, which browser and OS) the code runs in, from the
// global object, so that requestDevice's errors can say what to do there. The global object is a
// parameter: tests fake every runtime.

/** What the detection reads of the global object. */
export interface RuntimeGlobals {
  Deno?: { version?: { deno?: string }; build?: { os?: string } };
  Bun?: { version?: string };
  process?: { versions?: { node?: string; bun?: string }; platform?: string };
  navigator?: { userAgent?: string };
  document?: unknown;
  isSecureContext?: boolean;
  location?: { origin?: string; protocol?: string };
}

/** An operating system, as far as the messages care. */
export type Os = "linux" | "windows" | "macos" | "chromeos" | "android" | "ios" | "other";

/** A browser engine family, as far as the messages care. */
export type BrowserName = "Chrome" | "Edge" | "Firefox" | "Safari" | "other";

/** The runtime the package runs in. */
export type Runtime =
  | { kind: "deno" | "node" | "bun"; version: string; os: Os }
  | {
    kind: "browser";
    browser: BrowserName;
    os: Os;
    /** False on a page (or worker) that is not a secure context; WebGPU is hidden there. */
    secure: boolean;
    /** Where the page came from, for the insecure-context message. */
    origin: string;
  }
  | { kind: "unknown" };

function osOfPlatform(platform: string | undefined): Os {
  switch (platform) {
    case "linux":
      return "linux";
    case "win32":
    case "windows":
      return "windows";
    case "darwin":
      return "macos";
    case "android":
      return "android";
    default:
      return "other";
  }
}

function osOfUserAgent(ua: string): Os {
  if (/Android/.test(ua)) return "android";
  if (/iPhone|iPad|iPod/.test(ua)) return "ios";
  if (/CrOS/.test(ua)) return "chromeos";
  if (/Windows/.test(ua)) return "windows";
  if (/Macintosh|Mac OS X/.test(ua)) return "macos";
  if (/Linux|X11/.test(ua)) return "linux";
  return "other";
}

function browserOfUserAgent(ua: string): BrowserName {
  if (/Edg(A|iOS)?\//.test(ua)) return "Edge";
  if (/Firefox\/|FxiOS\//.test(ua)) return "Firefox";
  if (/Chrome\/|Chromium\/|CriOS\//.test(ua)) return "Chrome";
  if (/Safari\//.test(ua)) return "Safari";
  return "other";
}

/** The runtime described by `globals` (default: this one's global object). */
export function detectRuntime(globals: RuntimeGlobals = globalThis as RuntimeGlobals): Runtime {
  // Deno and Bun also define `process` (and a navigator.userAgent): ask for them first.
  if (globals.Deno) {
    return {
      kind: "deno",
      version: globals.Deno.version?.deno ?? "",
      os: osOfPlatform(globals.Deno.build?.os),
    };
  }
  const versions = globals.process?.versions;
  if (globals.Bun || versions?.bun) {
    return {
      kind: "bun",
      version: globals.Bun?.version ?? versions?.bun ?? "",
      os: osOfPlatform(globals.process?.platform),
    };
  }
  if (versions?.node) {
    return { kind: "node", version: versions.node, os: osOfPlatform(globals.process?.platform) };
  }
  const ua = globals.navigator?.userAgent;
  if (globals.document !== undefined || typeof globals.isSecureContext === "boolean" || ua) {
    const { origin, protocol } = globals.location ?? {};
    return {
      kind: "browser",
      browser: browserOfUserAgent(ua ?? ""),
      os: osOfUserAgent(ua ?? ""),
      secure: globals.isSecureContext !== false,
      // A file:// page's origin is the string "null".
      origin: origin && origin !== "null" ? origin : protocol ? `a ${protocol}// page` : "",
    };
  }
  return { kind: "unknown" };
}
