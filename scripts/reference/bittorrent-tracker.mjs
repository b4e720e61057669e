#!/usr/bin/env node
// Reference tracker for the benchmark: the npm `bittorrent-tracker` server (JavaScript), UDP only, on loopback.
// It is installed outside the project (scripts/bench.sh: `npm install --prefix .bench --ignore-scripts
// bittorrent-tracker@11.2.3`), so it is imported by path from that prefix, and only its server module (the
// package root pulls in the WebRTC client, whose native dependency is not built).
//
//   node scripts/reference/bittorrent-tracker.mjs --port P [--prefix .bench] [--interval 1800]
//
// Prints "listening udp://127.0.0.1:P" on stderr once both UDP sockets (127.0.0.1 and ::1) are bound.
// SIGTERM/SIGINT close the server and exit 0 (after a line with the number of requests it dropped).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { port: { type: 'string' }, prefix: { type: 'string' }, interval: { type: 'string' } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: bittorrent-tracker.mjs --port P [--prefix DIR] [--interval S]\n');
  process.exit(2);
}
const prefix = resolve(values.prefix ?? '.bench');
const serverJs = join(prefix, 'node_modules', 'bittorrent-tracker', 'server.js');
if (!existsSync(serverJs)) {
  process.stderr.write(
    `error: ${serverJs} not found; install it with: npm install --prefix ${prefix} --ignore-scripts bittorrent-tracker@11.2.3\n`,
  );
  process.exit(1);
}
const { default: Server } = await import(pathToFileURL(serverJs).href);

const server = new Server({
  udp: true,
  http: false,
  ws: false,
  stats: false,
  interval: Number(values.interval ?? 1800) * 1000, // ms
});
let warnings = 0;
const samples = new Map();
server.on('warning', (err) => {
  // bad requests are dropped silently: count them
  warnings++;
  const key = String(err?.message ?? err).slice(0, 80);
  if (samples.size < 5 || samples.has(key)) samples.set(key, (samples.get(key) ?? 0) + 1);
});
server.on('error', (err) => {
  process.stderr.write(`error: ${err?.message ?? err}\n`);
  process.exit(1);
});
server.listen(port, { udp: '127.0.0.1', udp6: '::1' }, () => {
  process.stderr.write(`listening udp://127.0.0.1:${port} (bittorrent-tracker, pid ${process.pid})\n`);
});

const stop = (why) => {
  process.stderr.write(
    `${why}: stopping; ${warnings} request(s) dropped as bad${warnings ? ` ${JSON.stringify(Object.fromEntries(samples))}` : ''}\n`,
  );
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
