/**
 * The live charts' numbers (pure): from two readings of the running totals (requests by protocol, committed
 * rounds and their summed latency, live instances), one sample per interval; the last `keep` samples are kept.
 */

/** Running totals read from the metrics at one instant (`at`, ms on the injected clock). */
export type Totals = {
  readonly at: number;
  readonly udp: number;
  readonly http: number;
  readonly commits: number;
  readonly commitSeconds: number;
  readonly live: number;
};

/** One interval: requests per second, the mean commit latency (ms; null without a commit), live instances. */
export type Sample = { readonly udp: number; readonly http: number; readonly commitMs: number | null; readonly live: number };

export type History = { readonly last: Totals | null; readonly samples: readonly Sample[] };

export const EMPTY_HISTORY: History = { last: null, samples: [] };

/** A minute of one-second samples. */
export const CHART_SAMPLES = 60;

export function sampleBetween(a: Totals, b: Totals): Sample {
  const seconds = (b.at - a.at) / 1000;
  // Totals that went down belong to a new instance (Stop, Start): count from zero.
  const delta = (x: number, y: number): number => (y >= x ? y - x : y);
  const rate = (x: number, y: number): number => (seconds > 0 ? delta(x, y) / seconds : 0);
  const restarted = b.commits < a.commits;
  const commits = restarted ? b.commits : b.commits - a.commits;
  const commitSeconds = restarted ? b.commitSeconds : b.commitSeconds - a.commitSeconds;
  return {
    udp: rate(a.udp, b.udp),
    http: rate(a.http, b.http),
    commitMs: commits > 0 ? (commitSeconds / commits) * 1000 : null,
    live: b.live,
  };
}

/** Add a reading: the first one only sets the baseline; later ones add a sample, dropping the oldest past `keep`. */
export function record(h: History, t: Totals, keep = CHART_SAMPLES): History {
  if (h.last === null) return { last: t, samples: h.samples };
  const samples = [...h.samples, sampleBetween(h.last, t)];
  return { last: t, samples: samples.length > keep ? samples.slice(samples.length - keep) : samples };
}

/** A new baseline (the next reading starts a fresh interval) without forgetting the samples. */
export const rebase = (h: History): History => ({ last: null, samples: h.samples });
