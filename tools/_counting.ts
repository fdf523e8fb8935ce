// Counting what code does on a GPUDevice (objects created, dispatches, submits) by wrapping the
// device's own methods: for the step-cost and soak tests and the benchmark's per-step counts
// (tools/ holds what the tests and the benchmark share).
import { patch } from "./_patch.ts";

/** What a stretch of code did on a device. */
export interface Counts {
  created: Record<string, number>;
  dispatches: number;
  submits: number;
}

const CREATE = [
  "createBuffer",
  "createBindGroup",
  "createBindGroupLayout",
  "createPipelineLayout",
  "createComputePipeline",
  "createShaderModule",
  "createTexture",
] as const;

/**
 * Counts what `fn` does on the device. The wrappers go on top of any already there (withDevice's
 * buffer tracking) and are undone afterwards, leaving the device's methods as they were.
 */
export async function counting(device: GPUDevice, fn: (counts: Counts) => Promise<void>) {
  const counts: Counts = { created: {}, dispatches: 0, submits: 0 };
  const undo: (() => void)[] = [];
  try {
    for (const name of CREATE) {
      undo.push(patch(device, name, (original) => (...args: unknown[]) => {
        counts.created[name] = (counts.created[name] ?? 0) + 1;
        return original(...args);
      }));
    }
    undo.push(patch(device, "createCommandEncoder", (createEncoder) => (descriptor) => {
      const encoder = createEncoder(descriptor);
      const beginPass = encoder.beginComputePass.bind(encoder);
      encoder.beginComputePass = (passDescriptor?: GPUComputePassDescriptor) => {
        const pass = beginPass(passDescriptor);
        const dispatch = pass.dispatchWorkgroups.bind(pass);
        pass.dispatchWorkgroups = (x: number, y?: number, z?: number) => {
          counts.dispatches++;
          dispatch(x, y, z);
        };
        return pass;
      };
      return encoder;
    }));
    undo.push(patch(device.queue, "submit", (submit) => (buffers) => {
      counts.submits++;
      submit(buffers);
    }));
    await fn(counts);
  } finally {
    for (const u of undo.reverse()) u();
  }
}

export function reset(c: Counts) {
  c.created = {};
  c.dispatches = 0;
  c.submits = 0;
}
