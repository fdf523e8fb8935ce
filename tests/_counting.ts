// Counting what code does on a GPUDevice (objects created, dispatches, submits) by wrapping the
// device's own methods: for the step-cost tests and the benchmark's per-step counts.

/** What a stretch of code did on a device. */
export interface Counts {
  created: Record<string, number>;
  dispatches: number;
  submits: number;
}

/** Counts what `fn` does on the device; the device's own methods are restored afterwards. */
export async function counting(device: GPUDevice, fn: (counts: Counts) => Promise<void>) {
  const counts = instrument(device);
  try {
    await fn(counts);
  } finally {
    // The wrappers are own properties shadowing the prototype's methods.
    const d = device as unknown as Record<string, unknown>;
    for (const name of Object.keys(d)) if (typeof d[name] === "function") delete d[name];
    delete (device.queue as unknown as Record<string, unknown>).submit;
  }
}

export function instrument(device: GPUDevice): Counts {
  const counts: Counts = { created: {}, dispatches: 0, submits: 0 };
  const d = device as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (
    const name of [
      "createBuffer",
      "createBindGroup",
      "createBindGroupLayout",
      "createPipelineLayout",
      "createComputePipeline",
      "createShaderModule",
      "createTexture",
    ]
  ) {
    const original = d[name].bind(device);
    d[name] = (...args: unknown[]) => {
      counts.created[name] = (counts.created[name] ?? 0) + 1;
      return original(...args);
    };
  }
  const createEncoder = device.createCommandEncoder.bind(device);
  device.createCommandEncoder = (descriptor?: GPUCommandEncoderDescriptor) => {
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
  };
  const submit = device.queue.submit.bind(device.queue);
  device.queue.submit = (buffers: GPUCommandBuffer[]) => {
    counts.submits++;
    submit(buffers);
  };
  return counts;
}

export function reset(c: Counts) {
  c.created = {};
  c.dispatches = 0;
  c.submits = 0;
}
