#!/usr/bin/env node
// serve.mjs -- serve a folder (default www/) on 127.0.0.1 until Ctrl-C.
//
//   node scripts/serve.mjs [--port N] [--quiet] [ROOT]
//
// PORT in the environment sets the port when --port is absent (default
// 8000; 0 picks a free one). Prints the address on its first line of output.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './static-server.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let port = process.env.PORT ?? '8000';
let root = path.join(repo, 'www');
let quiet = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--port') port = args[++i];
  else if (a.startsWith('--port=')) port = a.slice(7);
  else if (a === '--quiet') quiet = true;
  else if (a === '-h' || a === '--help') {
    console.log('usage: node scripts/serve.mjs [--port N] [--quiet] [ROOT]');
    process.exit(0);
  } else root = path.resolve(a);
}
if (!/^\d+$/.test(String(port))) {
  console.error(`serve: bad port ${port}`);
  process.exit(2);
}

let srv;
try {
  srv = await startServer(root, {
    port: Number(port),
    log: quiet ? undefined : (line) => console.log(line),
  });
} catch (e) {
  console.error(`serve: cannot listen on 127.0.0.1:${port}: ${e.code ?? e.message}` +
    (e.code === 'EADDRINUSE' ? ' (port in use; try PORT=8001 make serve)' : ''));
  process.exit(1);
}
console.log(`Serving ${path.relative(process.cwd(), root) || '.'} at ${srv.url}  (Ctrl-C stops it)`);
const stop = () => srv.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
