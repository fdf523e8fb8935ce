// Submitting a step inside a validation error scope of its own. The scope catches what the GPU
// rejects (a buffer destroyed by its owner, a lost device), so that the step's promise can reject
// and the optimizer not count it; it is popped on every path, so that it never swallows the
// validation errors of the caller's own scopes.
import { assertDeviceAlive } from "../device/device_lost.ts";

/**
 * Runs `work` (the step's buffer writes, encoding and submit) in a validation error scope, and
 * returns the outcome: resolves when the GPU accepted everything, rejects with a DeviceLostError
 * when the device is lost, or with an Error naming what the GPU rejected. A synchronous throw
 * from `work` pops the scope before it propagates.
 */
export function submitInScope(device: GPUDevice, label: string, work: () => void): Promise<void> {
  device.pushErrorScope("validation");
  try {
    work();
  } catch (e) {
    device.popErrorScope().catch(() => {}); // the throw is the news; the scope must not leak
    throw e;
  }
  return stepOutcome(device, label);
}

async function stepOutcome(device: GPUDevice, label: string): Promise<void> {
  const error = await device.popErrorScope();
  assertDeviceAlive(device, label);
  if (error) throw new Error(`${label}: the GPU rejected the step: ${error.message}`);
}
