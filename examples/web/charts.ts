/// <reference lib="dom" />
/**
 * The training page's live charts (uPlot): training and held-out loss, held-out accuracy against
 * the majority class, and training messages per second, all against epochs.
 *
 * @module
 */
import uPlot from "uplot";

/** One point of the charts; a missing value leaves a gap that the line spans. */
export interface ChartPoint {
  /** Epochs done, fractional within an epoch. */
  epoch: number;
  trainLoss?: number;
  heldOutLoss?: number;
  /** Held-out accuracy, 0 to 1. */
  accuracy?: number;
  messagesPerSecond?: number;
}

const COLORS = { train: "#1f77b4", heldOut: "#d62728", majority: "#7f7f7f", rate: "#2ca02c" };

/** The three charts, in `parent`. */
export class TrainingCharts {
  readonly #plots: uPlot[] = [];
  // Columns: epoch, train loss, held-out loss, accuracy %, majority %, msg/s.
  #columns: (number | null)[][] = [[], [], [], [], [], []];
  #majority = 0;

  constructor(parent: HTMLElement) {
    const width = Math.max(320, Math.min(640, parent.clientWidth || 640));
    const chart = (title: string, y: string, series: uPlot.Series[], log = false) => {
      const box = parent.appendChild(document.createElement("div"));
      box.className = "chart";
      return new uPlot(
        {
          title,
          width,
          height: 200,
          // A log scale for the loss: it falls from 0.69 to about 0.01.
          scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
          axes: [{ label: "epoch" }, { label: y, size: 60 }],
          series: [{ label: "epoch", value: (_u, v) => v == null ? "-" : v.toFixed(2) }, ...series],
        },
        [[]],
        box,
      );
    };
    const line = (label: string, stroke: string, digits: number, dash?: number[]) => ({
      label,
      stroke,
      width: 2,
      spanGaps: true,
      dash,
      points: { show: true, size: 4 },
      value: (_u: uPlot, v: number | null) => v == null ? "-" : v.toFixed(digits),
    });
    this.#plots.push(
      chart("Loss", "logistic loss (log)", [
        line("training", COLORS.train, 4),
        line("held out", COLORS.heldOut, 4),
      ], true),
      chart("Held-out accuracy", "%", [
        line("accuracy", COLORS.heldOut, 2),
        line("majority class", COLORS.majority, 1, [6, 4]),
      ]),
      chart("Training speed", "messages/s", [line("messages/s", COLORS.rate, 0)]),
    );
  }

  /** Clears the charts; `majority` is the majority class's share of the held-out messages. */
  reset(majority: number): void {
    this.#columns = [[], [], [], [], [], []];
    this.#majority = majority;
    this.#draw();
  }

  /** Adds a point, or fills in the last one when it has the same `epoch`. */
  add(p: ChartPoint): void {
    const c = this.#columns;
    const last = c[0].length - 1;
    const values = [
      p.epoch,
      p.trainLoss,
      p.heldOutLoss,
      p.accuracy === undefined ? undefined : 100 * p.accuracy,
      100 * this.#majority,
      p.messagesPerSecond,
    ];
    if (last >= 0 && c[0][last] === p.epoch) {
      values.forEach((v, i) => {
        if (v !== undefined) c[i][last] = v;
      });
    } else {
      values.forEach((v, i) => c[i].push(v ?? null));
    }
    this.#draw();
  }

  #draw(): void {
    const [x, train, heldOut, accuracy, majority, rate] = this.#columns;
    const data = [[x, train, heldOut], [x, accuracy, majority], [x, rate]];
    this.#plots.forEach((plot, i) => plot.setData(data[i] as uPlot.AlignedData));
  }
}
