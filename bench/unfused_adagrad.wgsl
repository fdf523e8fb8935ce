// The unfused baseline: what a straightforward port does, one variable per dispatch (and per
// submit), each with its own buffers. Same math as the package's fused kernel.

struct Params {
  lr: f32,
  epsilon: f32,
  length: u32,
  pad0: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> variable: array<f32>;
@group(0) @binding(2) var<storage, read_write> accumulator: array<f32>;
@group(0) @binding(3) var<storage, read> gradient: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) n: vec3u) {
  let i = id.y * n.x * 256u + id.x;
  if (i >= params.length) {
    return;
  }
  let g = gradient[i];
  let a = accumulator[i] + g * g;
  accumulator[i] = a;
  variable[i] = variable[i] - (g * params.lr) / (sqrt(a) + params.epsilon);
}
