/**
 * Per-address rate limit: a token bucket per client IP (`rate` requests per second, bursts up to `burst`).
 * Bounded: at most `maxClients` addresses are tracked; the least recently seen is forgotten first, which can
 * only ever let a request through, never block one wrongly. Time is a parameter.
 */
export type RateLimiter = { allow(ip: string, nowMs: number): boolean; readonly dropped: number };

export function createRateLimiter(rate: number, burst = Math.max(1, rate * 2), maxClients = 100_000): RateLimiter {
  // Map order is insertion order: re-inserting on every use keeps the least recently seen first.
  const buckets = new Map<string, { tokens: number; at: number }>();
  let dropped = 0;
  return {
    get dropped() {
      return dropped;
    },
    allow(ip, nowMs) {
      const b = buckets.get(ip) ?? { tokens: burst, at: nowMs };
      buckets.delete(ip);
      b.tokens = Math.min(burst, b.tokens + ((nowMs - b.at) / 1000) * rate);
      b.at = nowMs;
      const ok = b.tokens >= 1;
      if (ok) b.tokens -= 1;
      else dropped++;
      buckets.set(ip, b);
      if (buckets.size > maxClients) buckets.delete(buckets.keys().next().value!);
      return ok;
    },
  };
}
