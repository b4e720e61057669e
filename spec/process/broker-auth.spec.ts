/**
 * The broker the project's scripts start accepts only its own login, and speaks TLS on request:
 * unauthenticated and wrongly authenticated STOMP clients are refused; a tracker with wrong credentials exits with
 * status 1 and one clear line; a tracker reaches a stomp+ssl:// broker with the certificate broker.sh made, and a
 * client that does not trust that certificate never connects.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { filter, firstValueFrom, take, timeout } from 'rxjs';
import { connectBroker } from '../../streams/broker/stomp-bridge.js';
import { brokerUrl, credentialsFor, newTopic, ownBroker, SERVING, startNode } from '../helpers/cluster.js';
import { freeUdpPort, run } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';

type Ctx = { dir: ReturnType<typeof tempDir>; cleanups: Array<() => Promise<unknown>> };
const test = suite<Ctx>('broker-auth', { dir: tempDir('broker-auth'), cleanups: [] });
test.after.each(async (ctx) => {
  for (const f of ctx.cleanups.splice(0)) await f();
});
test.after((ctx) => ctx.dir.remove());

/** The first frame's command and message header for a raw STOMP CONNECT with these headers. */
function rawConnect(port: number, headers: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write(`CONNECT\naccept-version:1.2\nhost:/\n${headers}\n\0`));
    s.setEncoding('utf8');
    s.once('data', (d: string) => {
      const lines = d.split('\n');
      resolve(`${lines[0]} ${lines.find((l) => l.startsWith('message:')) ?? ''}`.trim());
      s.destroy();
    });
    s.on('error', reject);
  });
}

test('the test broker refuses clients without its login or with a wrong passcode, and accepts its own', async () => {
  const port = Number(new URL(brokerUrl()).port);
  const [login, passcode] = readFileSync(credentialsFor(brokerUrl())!, 'utf8').split('\n');
  assert.match(await rawConnect(port, ''), /^ERROR message:User name \[null\] or password is invalid/);
  assert.match(await rawConnect(port, `login:${login}\npasscode:wrong\n`), /^ERROR .*password is invalid/);
  assert.match(await rawConnect(port, `login:${login}\npasscode:${passcode}\n`), /^CONNECTED/);
});

test('a tracker with wrong broker credentials exits with status 1 and one clear line', async (ctx) => {
  const wrong = join(ctx.dir.path, 'wrong-credentials');
  writeFileSync(wrong, 'tracker\nnot-the-password\n', { mode: 0o600 });
  const p = run(['--id', '7', '--broker', brokerUrl(), '--broker-credentials', wrong, '--port', String(await freeUdpPort()), '--headless']);
  assert.is(await p.exited(), 1);
  assert.match(
    p.stderr(),
    /error: the broker refused our login \(stomp:\/\/127\.0\.0\.1:\d+: User name \[tracker\] or password is invalid\.\); check --broker-credentials/,
  );
});

test('STOMP over TLS: a tracker trusting the broker\u2019s own certificate serves through stomp+ssl://; a client that does not trust it never connects', async (ctx) => {
  const dir = join(ctx.dir.path, 'tls-broker');
  const broker = ownBroker(dir, ['--tls-port', '0']);
  ctx.cleanups.push(() => broker.stop());
  await broker.start();
  const tlsPort = Number(readFileSync(join(dir, 'broker.tls-port'), 'utf8').trim());
  const url = `stomp+ssl://127.0.0.1:${tlsPort}`;
  const ca = join(dir, 'broker-ca.pem');
  const creds = join(dir, 'credentials');
  const node = startNode(1, { brokerUrl: url, credentials: creds, port: await freeUdpPort(), dir: ctx.dir.path, topic: newTopic() }, [
    '--broker-ca',
    ca,
  ]);
  ctx.cleanups.push(async () => {
    node.proc.kill('SIGKILL');
    await node.proc.exited();
  });
  await node.proc.waitFor(SERVING, 15_000);
  assert.match(node.proc.stderr(), new RegExp(`broker stomp\\+ssl://127\\.0\\.0\\.1:${tlsPort}: subscribed`));

  const [login = '', passcode = ''] = readFileSync(creds, 'utf8').split('\n');
  const untrusting = connectBroker({ url, topic: newTopic(), login, passcode, reconnectDelayMs: 100, log: () => {} });
  ctx.cleanups.push(() => untrusting.close());
  const connected = await firstValueFrom(
    untrusting.connected$.pipe(filter(Boolean), take(1), timeout({ first: 2000, with: async () => false })),
  );
  assert.is(connected, false, 'a self-signed broker is not trusted without --broker-ca');
});

test.run();
