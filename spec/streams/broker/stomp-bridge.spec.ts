/**
 * The STOMP bridge against a real ActiveMQ started by scripts/broker.sh in a temporary directory:
 * JSON round trip, malformed bodies dropped and counted, and recovery after the broker is SIGKILLed.
 * A second suite checks the TCP socket adapter against a plain local server (no broker needed).
 */
import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filter, firstValueFrom, type Observable } from 'rxjs';
import { connectBroker, type BrokerBridge } from '../../../streams/broker/stomp-bridge.js';
import type { ClusterMessage } from '../../../src/bus/messages.js';
import { routing } from '../../../src/bus/routing.js';
import { NetStompSocket, parseBrokerUrl, socketFactoryFor } from '../../../streams/broker/stomp-socket.js';

type Ctx = { dir?: string; port?: number; pid?: number; bridges: BrokerBridge[]; log: string[]; setupError?: unknown };
const ctx: Ctx = { bridges: [], log: [] };
const topic = `spec-${process.pid}`;

/** Compiled specs live under dist/, sources under spec/: find the script by walking up. */
function findScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'scripts', 'broker.sh'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`scripts/broker.sh not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return join(dir, 'scripts', 'broker.sh');
}
const script = findScript();

function broker(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [script, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`broker.sh ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function startBroker(port: number, dir: string): Promise<number> {
  const out = await broker('start', '--port', String(port), '--dir', dir);
  const last = out.trim().split('\n').pop() ?? '';
  ctx.pid = Number(readFileSync(join(dir, 'broker.pid'), 'utf8').trim());
  return Number(last);
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}\n${ctx.log.join('\n')}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const state = (b: BrokerBridge, want: boolean): Promise<boolean> =>
  within(firstValueFrom(b.connected$.pipe(filter((c) => c === want))), 15_000, `connected$ === ${want}`);

const next = (messages$: Observable<unknown>, pred: (m: unknown) => boolean, what: string): Promise<unknown> =>
  within(firstValueFrom(messages$.pipe(filter(pred))), 5_000, what);

const isNonce = (nonce: string) => (m: unknown) => typeof m === 'object' && m !== null && (m as { nonce?: unknown }).nonce === nonce;

/** The broker refuses unauthenticated clients: broker.sh wrote its login into its folder. */
function login_(): { login: string; passcode: string } {
  const [login = '', passcode = ''] = readFileSync(join(ctx.dir!, 'credentials'), 'utf8').split('\n');
  return { login, passcode };
}

/** A bare STOMP 1.2 producer over TCP, so the malformed body bypasses the bridge's own publish(). */
function sendRaw(port: number, destination: string, bodies: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let got = '';
    let sent = false;
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('close', () => (got.includes('RECEIPT') ? resolve() : reject(new Error(`raw STOMP: ${got}`))));
    socket.on('data', (d: string) => {
      got += d;
      if (sent || !got.includes('CONNECTED')) return;
      sent = true;
      const sends = bodies.map((b) => `SEND\ndestination:${destination}\n\n${b}\0`).join('');
      socket.write(`${sends}DISCONNECT\nreceipt:bye\n\n\0`);
    });
    const { login, passcode } = login_();
    socket.write(`CONNECT\naccept-version:1.2\nhost:localhost\nlogin:${login}\npasscode:${passcode}\n\n\0`);
  });
}

// If the run dies before `after`, still do not leave a JVM behind.
const killOnExit = (): void => {
  if (ctx.pid !== undefined) {
    try {
      process.kill(ctx.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
};
process.on('exit', killOnExit);

test.before(async () => {
  try {
    ctx.dir = await mkdtemp(join(tmpdir(), 'stomp-bridge-spec-'));
    ctx.port = await startBroker(0, ctx.dir);
    const url = `stomp://127.0.0.1:${ctx.port}`;
    for (const name of ['a', 'b']) {
      ctx.bridges.push(connectBroker({ url, topic, reconnectDelayMs: 100, ...login_(), log: (s) => ctx.log.push(`${name}: ${s}`) }));
    }
    await Promise.all(ctx.bridges.map((b) => state(b, true)));
  } catch (e) {
    ctx.setupError = e; // uvu 0.5 swallows errors thrown by `before`: report them through every test
  }
});

test.before.each(() => {
  if (ctx.setupError !== undefined) throw ctx.setupError;
});

test.after(async () => {
  await Promise.all(ctx.bridges.map((b) => b.close()));
  if (ctx.dir !== undefined) {
    await broker('stop', '--dir', ctx.dir).catch((e: Error) => console.error(e.message));
    ctx.pid = undefined;
    await rm(ctx.dir, { recursive: true, force: true });
  }
  process.off('exit', killOnExit);
});

test('a JSON message published by one bridge arrives at the other', async () => {
  const [a, b] = ctx.bridges as [BrokerBridge, BrokerBridge];
  const body = { type: 'keepalive', nonce: 'n1', nested: { list: [1, 'two', null] } };
  const arrived = next(b.messages$, isNonce('n1'), 'n1 at b');
  assert.ok(a.publish(body));
  assert.equal(await arrived, body);
  assert.is(a.stats.published, 1);
});

test('with the routing selector, ActiveMQ leaves out own echoes (but keepalives, COORDINATORs) and messages for others', async () => {
  const a = ctx.bridges[0]!;
  const me = routing(2);
  const mine = connectBroker({
    url: `stomp://127.0.0.1:${ctx.port}`,
    topic,
    selector: me.selector,
    reconnectDelayMs: 100,
    ...login_(),
    log: (s) => ctx.log.push(`sel: ${s}`),
  });
  ctx.bridges.push(mine);
  await state(mine, true);
  const seen: string[] = [];
  const sub = mine.messages$.subscribe((m) => seen.push((m as { nonce: string }).nonce));
  const send = (m: ClusterMessage, nonce: string): void => void a.publish({ ...m, nonce }, me.headers(m));
  send({ type: 'prepare', from: 2, epoch: 1, seq: 1, changes: '' }, 'own prepare');
  send({ type: 'keepalive', from: 2, epoch: 1, role: 'master', synced: true, nonce: 'x', applied: 0, startedAt: 0 }, 'own keepalive');
  send({ type: 'election', from: 2, epoch: 1 }, 'own election');
  send({ type: 'coordinator', from: 2, epoch: 2 }, 'own coordinator');
  send({ type: 'vote', from: 1, epoch: 1, to: 3, seq: 1, ok: true }, 'vote for 3');
  send({ type: 'vote', from: 1, epoch: 1, to: 2, seq: 1, ok: true }, 'vote for me');
  send({ type: 'sync-ack', from: 3, epoch: 1, to: 1, transfer: '0123456789abcdef', next: 1 }, 'ack for 1');
  send({ type: 'prepare', from: 3, epoch: 1, seq: 1, changes: '' }, 'prepare from 3');
  const atB = next(ctx.bridges[1]!.messages$, isNonce('no headers'), 'last message at the unfiltered bridge');
  a.publish({ nonce: 'no headers' });
  // One producer: the broker keeps its order, so once the last one is here every earlier one was decided.
  await next(mine.messages$, isNonce('no headers'), 'last message at the filtered bridge');
  await atB; // the next test counts what b receives: nothing of this one may still be on its way
  sub.unsubscribe();
  assert.equal(seen, ['own keepalive', 'own coordinator', 'vote for me', 'prepare from 3', 'no headers']);
});

test('malformed bodies are counted and not emitted', async () => {
  const b = ctx.bridges[1]!;
  const seen: unknown[] = [];
  const sub = b.messages$.subscribe((m) => seen.push(m));
  const before = { malformed: b.stats.malformed, received: b.stats.received };
  // One producer, so the broker keeps its order: once the marker is here, the bad body was handled.
  const marker = next(b.messages$, isNonce('after-bad'), 'marker at b');
  await sendRaw(ctx.port!, `/topic/${topic}`, ['{"not json', '', JSON.stringify({ nonce: 'after-bad' })]);
  await marker;
  sub.unsubscribe();
  assert.equal(seen, [{ nonce: 'after-bad' }]);
  assert.is(b.stats.malformed - before.malformed, 2);
  assert.is(b.stats.received - before.received, 3);
});

test('publish while disconnected is refused and counted, never thrown', async () => {
  const probe = connectBroker({ url: 'stomp://127.0.0.1:1', topic, reconnectDelayMs: 50, log: () => {} });
  try {
    assert.is(probe.publish({ nonce: 'nowhere' }), false);
    assert.is(probe.publish(10n), false);
    assert.is(probe.stats.dropped, 2);
    assert.is(probe.stats.published, 0);
  } finally {
    await probe.close();
  }
});

test('both bridges reconnect after the broker is SIGKILLed and restarted', async () => {
  const [a, b] = ctx.bridges as [BrokerBridge, BrokerBridge];
  const down = Promise.all([state(a, false), state(b, false)]);
  process.kill(ctx.pid!, 'SIGKILL');
  await down;
  // Publishing into the gap is refused, not queued.
  assert.is(a.publish({ nonce: 'lost' }), false);

  const port = await startBroker(ctx.port!, ctx.dir!);
  assert.is(port, ctx.port);
  await Promise.all([state(a, true), state(b, true)]);

  const atB = next(b.messages$, isNonce('again-ab'), 'again-ab at b');
  const atA = next(a.messages$, isNonce('again-ba'), 'again-ba at a');
  assert.ok(a.publish({ nonce: 'again-ab' }));
  assert.ok(b.publish({ nonce: 'again-ba' }));
  await Promise.all([atB, atA]);
});

test.run();

// ---- the socket adapter alone ------------------------------------------------------------------

const net = suite('NetStompSocket');

/** A loopback server whose one connection is handed to `onConn`; closed by `stop`. */
async function serve(onConn: (s: Socket) => void): Promise<{ port: number; stop: () => Promise<void> }> {
  const conns = new Set<Socket>();
  const server: Server = createServer((s) => {
    conns.add(s);
    s.on('close', () => conns.delete(s));
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const stop = () =>
    new Promise<void>((r) => {
      for (const c of conns) c.destroy();
      server.close(() => r());
    });
  return { port, stop };
}

const open = (s: NetStompSocket): Promise<void> =>
  within(
    new Promise<void>((r) => {
      s.onopen = () => r();
    }),
    5_000,
    'onopen',
  );
const closed = (s: NetStompSocket): Promise<{ code: number; wasClean: boolean }> =>
  within(
    new Promise((r) => {
      s.onclose = (ev: { code: number; wasClean: boolean }) => r(ev);
    }),
    5_000,
    'onclose',
  );

net('parseBrokerUrl returns errors as values', () => {
  assert.equal(parseBrokerUrl('stomp://127.0.0.1:1234'), { ok: true, kind: 'tcp', host: '127.0.0.1', port: 1234 });
  assert.equal(parseBrokerUrl('tcp://[::1]'), { ok: true, kind: 'tcp', host: '::1', port: 61613 });
  assert.equal(parseBrokerUrl('ws://h:1/stomp'), { ok: true, kind: 'ws', url: 'ws://h:1/stomp' });
  assert.is(parseBrokerUrl('http://h:1').ok, false);
  assert.is(parseBrokerUrl('not a url').ok, false);
  assert.throws(() => socketFactoryFor('http://h:1'), /unsupported scheme/);
});

net('bytes split at arbitrary points arrive intact, as ArrayBuffer or as text', async () => {
  const text = 'MESSAGE\ndestination:/topic/é\n\n{"v":"→ 世界 😀"}\0';
  const bytes = Buffer.from(text, 'utf8');
  // One byte per write with a pause between: multi-byte characters straddle chunks.
  const srv = await serve((s) => {
    s.setNoDelay(true);
    let i = 0;
    const t = setInterval(() => {
      if (i < bytes.length) s.write(bytes.subarray(i, ++i));
      else {
        clearInterval(t);
        s.end();
      }
    }, 1);
  });
  try {
    const bin = new NetStompSocket('tcp://test', '127.0.0.1', srv.port);
    const txt = new NetStompSocket('tcp://test', '127.0.0.1', srv.port);
    txt.binaryType = 'text';
    const got: { bin: Buffer[]; txt: string[] } = { bin: [], txt: [] };
    bin.onmessage = (ev: { data: unknown }) => {
      assert.ok(ev.data instanceof ArrayBuffer);
      got.bin.push(Buffer.from(ev.data));
    };
    txt.onmessage = (ev: { data: unknown }) => got.txt.push(ev.data as string);
    await Promise.all([closed(bin), closed(txt)]);
    assert.ok(got.bin.length > 1, 'arrived in several chunks');
    assert.equal(Buffer.concat(got.bin), bytes);
    assert.is(got.txt.join(''), text);
  } finally {
    await srv.stop();
  }
});

net('a peer that stops reading: data is buffered, then delivered whole and in order', async () => {
  let peer: Socket | undefined;
  const received: Buffer[] = [];
  const srv = await serve((s) => {
    peer = s;
    s.pause(); // not reading: the kernel buffers fill and the client must hold the rest
    s.on('data', (d: Buffer) => received.push(d));
  });
  try {
    const sock = new NetStompSocket('tcp://test', '127.0.0.1', srv.port);
    await open(sock);
    const sent = createHash('sha256');
    let total = 0;
    for (let i = 0; i < 256; i++) {
      const chunk = Buffer.alloc(64 * 1024, i);
      sent.update(chunk);
      total += chunk.length;
      sock.send(i % 2 === 0 ? chunk : new Uint8Array(chunk)); // both binary forms
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(sock.bufferedAmount > 0, 'something is held back');
    peer!.resume();
    await within(
      new Promise<void>((r) => {
        const t = setInterval(() => {
          if (received.reduce((n, b) => n + b.length, 0) < total) return;
          clearInterval(t);
          r();
        }, 5);
      }),
      10_000,
      'all bytes at the server',
    );
    assert.is(createHash('sha256').update(Buffer.concat(received)).digest('hex'), sent.digest('hex'));
    const done = closed(sock);
    sock.close();
    assert.is(sock.readyState, NetStompSocket.CLOSING);
    assert.equal(await done, { type: 'close', code: 1000, reason: '', wasClean: true });
    assert.is(sock.readyState, NetStompSocket.CLOSED);
  } finally {
    await srv.stop();
  }
});

net('past maxBufferedBytes the connection fails instead of growing without bound', async () => {
  const srv = await serve((s) => s.pause());
  try {
    const sock = new NetStompSocket('tcp://test', '127.0.0.1', srv.port, { maxBufferedBytes: 1024 * 1024 });
    await open(sock);
    const errors: string[] = [];
    sock.onerror = (ev: { message: string }) => errors.push(ev.message);
    const done = closed(sock);
    for (let i = 0; i < 512; i++) sock.send(Buffer.alloc(64 * 1024)); // 32 MB: past kernel buffers and the cap
    const ev = await done;
    assert.is(ev.wasClean, false);
    assert.match(errors.join(), /peer not reading/);
    sock.send('ignored after close'); // discarded, no throw
  } finally {
    await srv.stop();
  }
});

net('connection refused: error then close, never a throw', async () => {
  const srv = await serve(() => {});
  const port = srv.port;
  await srv.stop(); // nothing listens here now
  const sock = new NetStompSocket('tcp://test', '127.0.0.1', port);
  let error = '';
  sock.onerror = (ev: { message: string }) => {
    error = ev.message;
  };
  const ev = await closed(sock);
  assert.match(error, /ECONNREFUSED/);
  assert.is(ev.wasClean, false);
  assert.is(sock.readyState, NetStompSocket.CLOSED);
});

net.run();
