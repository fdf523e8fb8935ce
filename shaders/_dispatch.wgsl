// Dispatch geometry and the workgroup's reductions: which tile a workgroup takes, how its lanes
// share it, and a sum over the lanes in a fixed order.

// The builtins of a kernel that runs one workgroup per tile. Kernels with barriers take
// `Workgroup` and the lane instead: WGSL's uniformity analysis counts a struct parameter as
// non-uniform as a whole when it holds the lane, and the barriers need the tile index uniform.
struct Invocation {
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lane: u32,
}

// The workgroup's place in the dispatch, for kernels with barriers: both builtins are uniform,
// so unlike `Invocation` (which holds the lane) the struct is too.
struct Workgroup {
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
}

// This workgroup's tile. Large tables are dispatched as a 2D grid (65,535 workgroups per
// dimension at most).
fn tile_index(group: vec3u, groups: vec3u) -> u32 {
  return group.y * groups.x + group.x;
}

fn workgroup_index(w: Workgroup) -> u32 {
  return tile_index(w.group, w.groups);
}

// The items `lane` takes of a tile of `count`: first, first + stride, ... below end.
struct LaneRun {
  first: u32,
  end: u32,
  stride: u32,
}

fn lane_run(lane: u32, count: u32) -> LaneRun {
  if (LANE_BLOCK == 0u) {
    return LaneRun(lane, count, WORKGROUP_SIZE);
  }
  // At least 1 (the pipeline evaluates override expressions even on the branch not taken), at
  // most the workgroup (wider, one block: the lanes side by side).
  let lanes = clamp(LANE_BLOCK, 1u, WORKGROUP_SIZE);
  let batches = max(WORKGROUP_SIZE / lanes, 1u);
  // A batch's block: its share of the tile, in whole rounds of its lanes.
  let share = ((count + batches - 1u) / batches + lanes - 1u) / lanes * lanes;
  let start = lane / lanes * share;
  return LaneRun(start + lane % lanes, min(start + share, count), lanes);
}

// Lanes per run of lane_order_sum.
const RUN: u32 = 16u;

// The threads' values for lane_order_sum; a kernel that does not call it has none of it.
var<workgroup> lane_values: array<f32, WORKGROUP_SIZE>;

// The sum of every lane's `value`, in lane order: runs of RUN lanes, then the runs, behind two
// barriers (one per lane would cost a CPU adapter more, a tree more barriers). The order is
// fixed, so the result does not depend on scheduling. The result is lane 0's only. Call it in
// uniform control flow, and not again before every lane has passed another barrier.
fn lane_order_sum(lane: u32, value: f32) -> f32 {
  lane_values[lane] = value;
  workgroupBarrier();
  let runs = (WORKGROUP_SIZE + RUN - 1u) / RUN;
  if (lane < runs) {
    var run = 0.0;
    for (var k = lane * RUN; k < min(lane * RUN + RUN, WORKGROUP_SIZE); k++) {
      run += lane_values[k];
    }
    // Only this lane reads or writes its run's first entry from here on.
    lane_values[lane * RUN] = run;
  }
  workgroupBarrier();
  var total = 0.0;
  if (lane == 0u) {
    for (var r = 0u; r < runs; r++) {
      total += lane_values[r * RUN];
    }
  }
  return total;
}
