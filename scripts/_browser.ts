// Debian's Chromium, headless, with WebGPU, driven by playwright-core (from npm; it downloads no
// browser). Without a GPU, Chromium's WebGPU runs on SwiftShader, its own CPU Vulkan.
import { existsSync } from "node:fs";
import process from "node:process";
import { type Browser, chromium } from "playwright-core";

/** The Chromium binary: $CHROMIUM, else Debian's. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM || "/usr/bin/chromium";
  if (!existsSync(path)) {
    throw new Error(
      `no Chromium at ${path}: scripts/setup.sh installs Debian's chromium (or set CHROMIUM)`,
    );
  }
  return path;
}

/**
 * Flags: WebGPU is behind --enable-unsafe-webgpu on Linux; --no-sandbox because CI runs as root,
 * where Chromium's sandbox refuses to start.
 */
export const CHROMIUM_FLAGS = ["--enable-unsafe-webgpu", "--no-sandbox"];

/** Launches headless Chromium with WebGPU. */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: chromiumPath(),
    args: CHROMIUM_FLAGS,
    headless: true,
    timeout: 60_000,
  });
}
