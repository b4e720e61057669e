#!/usr/bin/env node
// The floor for the benchmark: a Node `dgram` server that does nothing but answer. Each datagram gets one
// preallocated reply (a BEP 15 connect reply for a connect, an empty announce reply otherwise) carrying its
// transaction ID, with one `send` per `message`. `node scripts/reference/echo.mjs PORT`; SIGTERM stops it.
import dgram from 'node:dgram';

const port = Number(process.argv[2]);
const connect = Buffer.alloc(16);
const announce = Buffer.alloc(20);
announce.writeUInt32BE(1, 0);
const sock = dgram.createSocket('udp4');
sock.on('message', (msg, rinfo) => {
  const reply = msg.length === 16 ? connect : announce;
  msg.copy(reply, 4, 12, 16);
  sock.send(reply, rinfo.port, rinfo.address);
});
sock.bind(port, '127.0.0.1', () => process.stderr.write(`listening udp://127.0.0.1:${port}\n`));
process.on('SIGTERM', () => sock.close(() => process.exit(0)));
