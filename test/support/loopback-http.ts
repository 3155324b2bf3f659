// What the test's HTTP stand-ins (STS, the anonymous gateway) share: reading a request's body with a
// cap, and serving on a free loopback port that neither keeps the test process alive nor outlives it
// for long.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The request's body; undefined when it passes `maxBytes` (the request is then destroyed, unanswered). */
export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('close', () => resolve(undefined));
  });
}

/**
 * Listens on 127.0.0.1 at a free port; the server and its connections are unref'd and it closes itself
 * after `lifetimeMs`. `stop` runs `beforeClose`, drops every connection and waits for the close.
 */
export async function serveOnLoopback(
  server: http.Server,
  lifetimeMs: number,
  beforeClose: () => void = () => {},
): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  server.on('connection', (socket) => socket.unref());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const lifetime = setTimeout(() => server.close(), lifetimeMs);
  lifetime.unref();
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      clearTimeout(lifetime);
      beforeClose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
