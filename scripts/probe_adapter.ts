/**
 * Prints the WebGPU adapter's description and whether it is a software (CPU) adapter; exits 1
 * when there is none. Used by scripts/setup.sh to decide whether to install Mesa's lavapipe.
 *
 * @module
 */
const adapter = await navigator.gpu?.requestAdapter();
if (!adapter) {
  console.log("none");
  Deno.exit(1);
}
const { description, vendor } = adapter.info;
const software = /llvmpipe|lavapipe|swiftshader/i.test(description) ||
  (adapter.info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
console.log(`${software ? "software" : "hardware"}: ${description || vendor || "unknown"}`);
