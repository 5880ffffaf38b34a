// Shared helpers for the benchmarks: each figure is printed beside a baseline measured in the same
// run, as a ratio, since these machines are noisy.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: { readonly name: string; readonly value: number };
  /** "higher" when more is better (throughput), "lower" for times. */
  readonly better: "higher" | "lower";
}

export function printFigure(f: Figure): void {
  const v = formatNumber(f.value);
  if (f.baseline === undefined) {
    console.log(`  ${f.name}: ${v} ${f.unit}`);
    return;
  }
  const ratio = f.value / f.baseline.value;
  console.log(
    `  ${f.name}: ${v} ${f.unit}  | baseline ${f.baseline.name}: ${formatNumber(f.baseline.value)} ${f.unit}` +
      `  | ratio ${ratio.toFixed(3)}`,
  );
}

/** The value at fraction `p` (0.5: the median) of the values in order; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

export function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

function formatNumber(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2);
}

/** Runs `fn` repeatedly for at least `minMs` (after a warm-up) and returns operations per second. */
export function opsPerSecond(fn: () => void, minMs = 1500): number {
  const warmUntil = performance.now() + Math.min(300, minMs / 4);
  while (performance.now() < warmUntil) fn();
  let ops = 0;
  const start = performance.now();
  let elapsed: number;
  do {
    for (let i = 0; i < 100; i++) fn();
    ops += 100;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return (ops / elapsed) * 1000;
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

/**
 * Drives `url` with autocannon from a separate process (keep-alive connections), so that the load
 * generator's own cost is not charged to the server's event loop.
 */
export function loadTest(
  url: string,
  options: { connections?: number; durationSeconds?: number; headers?: Record<string, string>; method?: string; body?: string } = {},
): Promise<LoadResult> {
  const script = fileURLToPath(new URL("./load-worker.mjs", import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify({ url, ...options })], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`load worker exited with ${code}`));
      resolve(JSON.parse(out) as LoadResult);
    });
  });
}
