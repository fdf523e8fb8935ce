// GPUBufferUsage / GPUMapMode bit values, fixed by the WebGPU specification. Spelled out here so
// the package never needs the `GPUBufferUsage` global, which Node's `webgpu` only installs when
// the caller copies its `globals` onto `globalThis`.

/** GPUBufferUsage.MAP_READ */
export const MAP_READ = 0x0001;
/** GPUBufferUsage.COPY_SRC */
export const COPY_SRC = 0x0004;
/** GPUBufferUsage.COPY_DST */
export const COPY_DST = 0x0008;
/** GPUBufferUsage.UNIFORM */
export const UNIFORM = 0x0040;
/** GPUBufferUsage.STORAGE */
export const STORAGE = 0x0080;
/** GPUMapMode.READ */
export const MAP_MODE_READ = 0x0001;
