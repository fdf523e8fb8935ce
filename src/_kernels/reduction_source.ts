// What the passes that only read gradients (norm clipping's sums of squares, the non-finite check)
// read: a table of reduction tiles (REDUCE_TILE_ELEMENTS each, numbered by the step) over one
// buffer of gradients. Dense groups and the sparse staging are both sources; the passes see only
// this, so neither knows of the other or of the passes.
import type { GradientLayout } from "./specialisation.ts";

export interface ReductionSource {
  /** Reduction tiles this step (0: nothing to read). */
  readonly reduceCount: number;
  /** The tile table (`TileTable`). */
  readonly reduceTiles: GPUBuffer;
  /** The gradients the tiles index. */
  readonly reduceData: GPUBuffer;
  /** How the kernels load them. */
  readonly layout: GradientLayout;
  /** A label for the bind groups. */
  readonly label: string;
  /**
   * The data are gradients as the rule takes them already (Keras 3's accumulated mean): the
   * passes neither unscale them nor divide them by a loss scale factor.
   */
  readonly prepared?: boolean;
}
