// A tiny static file server for the playground (www/): no dependencies,
// loopback only, correct MIME types (application/wasm for streaming
// instantiation, text/javascript for ES modules), no caching.
//
//   import { startServer } from './static-server.mjs';
//   const { url, close } = await startServer('www', { port: 0 });
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

export const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.vms': 'text/plain; charset=utf-8',
  '.out': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

export function mimeType(file) {
  return MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Serve the folder `root` on http://HOST:PORT/.
 * @param {string} root folder to serve
 * @param {{port?: number, host?: string, log?: (line: string) => void, headers?: Record<string, string>}} [opts]
 *   port 0 (the default) picks a free port; headers go on every answer
 *   (e.g. Access-Control-Allow-Origin, as a CDN sends it).
 * @returns {Promise<{url: string, port: number, server: http.Server, close: () => Promise<void>}>}
 */
export async function startServer(root, { port = 0, host = '127.0.0.1', log, headers: always = {} } = {}) {
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    const done = (status, headers, body) => {
      res.writeHead(status, { 'Cache-Control': 'no-store', ...always, ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
      log?.(`${status} ${req.method} ${req.url}`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return done(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }, 'method not allowed\n');
    }
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return done(400, { 'Content-Type': 'text/plain' }, 'bad request\n');
    }
    let file = path.join(base, rel);
    if (file !== base && !file.startsWith(base + path.sep)) {
      return done(403, { 'Content-Type': 'text/plain' }, 'forbidden\n');
    }
    fs.stat(file, (err, st) => {
      if (!err && st.isDirectory()) {
        if (!rel.endsWith('/')) {
          return done(301, { Location: rel + '/' }, '');
        }
        file = path.join(file, 'index.html');
      }
      fs.readFile(file, (err2, data) => {
        if (err2) return done(404, { 'Content-Type': 'text/plain' }, `not found: ${rel}\n`);
        done(200, { 'Content-Type': mimeType(file), 'Content-Length': data.length }, data);
      });
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = server.address().port;
  return {
    url: `http://${host}:${actual}/`,
    port: actual,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
