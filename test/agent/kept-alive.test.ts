import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ANSWER_BYTES_MAX, KeptAliveClient } from '../../agent/connection/kept-alive.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('calls one after another share one connection, and each body arrives whole', async () => {
  let connections = 0;
  const bodies: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      response.writeHead(202).end();
    });
  });
  server.on('connection', () => connections++);
  const base = await listen(server);
  const client = new KeptAliveClient();
  for (let index = 0; index < 20; index++) {
    const answer = await client.post(`${base}/call`, {}, Buffer.from(`call ${index}`), 30_000);
    assert.is(answer.status, 202);
  }
  assert.is(connections, 1);
  assert.equal(
    bodies,
    Array.from({ length: 20 }, (_, index) => `call ${index}`),
  );
  client.close();
  await new Promise((resolve) => server.close(resolve));
});

test('a refusal is read up to the bound; a redirect is answered with its location', async () => {
  const server = createServer((request, response) => {
    request.resume();
    if (request.url === '/moved') response.writeHead(307, { location: 'http://elsewhere/x' }).end();
    else response.writeHead(400).end('x'.repeat(ANSWER_BYTES_MAX * 3));
  });
  const base = await listen(server);
  const client = new KeptAliveClient();
  const refused = await client.post(`${base}/bad`, {}, Buffer.from('call'), 30_000);
  assert.equal([refused.status, refused.body.length], [400, ANSWER_BYTES_MAX]);
  const moved = await client.post(`${base}/moved`, {}, Buffer.from('call'), 30_000);
  assert.equal([moved.status, moved.location], [307, 'http://elsewhere/x']);
  client.close();
  await new Promise((resolve) => server.close(resolve));
});

test('a call to a closed port fails with an error instead of hanging', async () => {
  const server = createServer();
  const base = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  const client = new KeptAliveClient();
  let failed = false;
  await client.post(`${base}/call`, {}, Buffer.from('call'), 30_000).catch(() => (failed = true));
  assert.ok(failed);
  client.close();
});

test.run();
