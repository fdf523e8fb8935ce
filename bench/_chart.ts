// A small SVG line chart: ms/step against the number of variables, log-log, one line per
// contender. Written by hand to keep the benchmark free of plotting dependencies.

/** One line of the chart. */
export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

const W = 640, H = 400, LEFT = 70, RIGHT = 150, TOP = 40, BOTTOM = 50;

function logScale(values: number[], from: number, to: number) {
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.ceil(Math.log10(Math.max(...values)));
  const span = Math.max(hi - lo, 1);
  return {
    at: (v: number) => from + ((Math.log10(v) - lo) / span) * (to - from),
    ticks: Array.from({ length: span + 1 }, (_, i) => 10 ** (lo + i)),
  };
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** The chart as SVG text. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const x = logScale(xs, LEFT, W - RIGHT);
  const y = logScale(ys, H - BOTTOM, TOP);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`,
  ];
  for (const t of x.ticks) {
    const px = x.at(t).toFixed(1);
    out.push(`<line x1="${px}" y1="${TOP}" x2="${px}" y2="${H - BOTTOM}" stroke="#ddd"/>`);
    out.push(`<text x="${px}" y="${H - BOTTOM + 16}" text-anchor="middle">${t}</text>`);
  }
  for (const t of y.ticks) {
    const py = y.at(t).toFixed(1);
    out.push(`<line x1="${LEFT}" y1="${py}" x2="${W - RIGHT}" y2="${py}" stroke="#ddd"/>`);
    out.push(`<text x="${LEFT - 6}" y="${py}" text-anchor="end" dy="4">${t}</text>`);
  }
  out.push(
    `<text x="${(LEFT + W - RIGHT) / 2}" y="${H - 12}" text-anchor="middle">${
      escape(xLabel)
    }</text>`,
    `<text transform="translate(16 ${(TOP + H - BOTTOM) / 2}) rotate(-90)" text-anchor="middle">${
      escape(yLabel)
    }</text>`,
  );
  series.forEach((s, i) => {
    const path = s.points.map((p) => `${x.at(p.x).toFixed(1)},${y.at(p.y).toFixed(1)}`).join(" ");
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${path}"/>`);
    for (const p of s.points) {
      out.push(
        `<circle cx="${x.at(p.x).toFixed(1)}" cy="${
          y.at(p.y).toFixed(1)
        }" r="3" fill="${s.color}"/>`,
      );
    }
    const ly = TOP + 10 + 20 * i;
    out.push(
      `<line x1="${W - RIGHT + 12}" y1="${ly}" x2="${
        W - RIGHT + 32
      }" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${W - RIGHT + 38}" y="${ly}" dy="4">${escape(s.name)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
