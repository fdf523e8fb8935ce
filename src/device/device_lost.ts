/**
 * Thrown by every optimizer, store, variable and slot call once their `GPUDevice` is lost (a
 * driver reset, the GPU process crashing, or `device.destroy()`), instead of hanging or silently
 * doing nothing. The state on the GPU is gone: restore the last checkpoint
 * (`restoreCheckpoint`) into variables and an optimizer on a new device.
 *
 * @example
 * ```ts ignore
 * try {
 *   await opt.applyGradients(pairs);
 * } catch (e) {
 *   if (e instanceof DeviceLostError) await resumeOnNewDevice(); // from the last checkpoint
 *   else throw e;
 * }
 * ```
 */
export class DeviceLostError extends Error {
  /** `GPUDeviceLostInfo.reason`: `"destroyed"` or `"unknown"`. */
  readonly reason: string;

  /**
   * Made by the package when a call finds its device lost; not usually constructed by users.
   *
   * @param what the call that found the device lost
   * @param info the device's `GPUDeviceLostInfo`
   */
  constructor(what: string, info: { reason: string; message: string }) {
    super(
      `${what}: the GPU device was lost (${info.reason}${
        info.message ? `: ${info.message}` : ""
      }); its buffers are gone. Restore the last checkpoint on a new device (restoreCheckpoint).`,
    );
    this.name = "DeviceLostError";
    this.reason = info.reason;
  }
}

const lost = new WeakMap<GPUDevice, { reason: string; message: string }>();
const watched = new WeakSet<GPUDevice>();

/**
 * Starts watching `device.lost` (once per device), and notes a `destroy()` call at once: `lost`
 * settles a task or more after it (Deno: after a step submitted in the same tick has resolved),
 * and a step on a destroyed device must neither resolve nor count.
 */
export function watchDevice(device: GPUDevice): void {
  if (watched.has(device)) return;
  watched.add(device);
  device.lost?.then((info) => {
    if (!lost.has(device)) {
      lost.set(device, { reason: String(info.reason), message: info.message ?? "" });
    }
  });
  const destroy = device.destroy;
  if (typeof destroy !== "function") return;
  try {
    Object.defineProperty(device, "destroy", {
      configurable: true,
      writable: true,
      value: function (this: GPUDevice) {
        lost.set(device, { reason: "destroyed", message: "GPUDevice.destroy() was called" });
        return destroy.call(this);
      },
    });
  } catch {
    // A device that takes no own properties: `lost` alone then tells.
  }
}

/** Throws a DeviceLostError if `device` is known to be lost. */
export function assertDeviceAlive(device: GPUDevice | undefined, what: string): void {
  if (!device) return;
  watchDevice(device);
  const info = lost.get(device);
  if (info) throw new DeviceLostError(what, info);
}

/**
 * After a failed GPU call: waits up to `ms` for `device.lost` (runtimes report a loss a task or so
 * later), then throws a DeviceLostError if the device is lost.
 */
export async function assertDeviceAliveSoon(
  device: GPUDevice,
  what: string,
  ms = 100,
): Promise<void> {
  watchDevice(device);
  if (!lost.has(device) && device.lost) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      device.lost,
      new Promise((resolve) => timer = setTimeout(resolve, ms)),
    ]);
    clearTimeout(timer);
    await Promise.resolve(); // let the watcher record it
  }
  assertDeviceAlive(device, what);
}
