// The gateway's added latency: tools/call (echo) and tools/list against
// @modelcontextprotocol/server-everything, directly and through the gateway
// (with the real PDP over mTLS deciding every request), at 1 and 32 requests
// in flight. Same SDK client, same protocol revision (2025-11-25) both ways.
// Prints a Markdown table. Usage: node dist/bench/bench.js [iterations]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

import { REPO_ROOT, freePort, genCerts, mint, startEverything, startGateway, startPdp, tempDir } from '../test/harness.js';

const ITERATIONS = Number(process.argv[2] ?? 1000);

function policy(base: string): string {
  return `servers:
  - id: everything
    audiences: ["${base}/mcp/everything"]
tools:
  - id: everything.echo
    scopes: [echo]
  - id: everything.get-sum
  - id: everything.get-env
roles:
  - id: user
    tools: ["everything.*"]
clients:
  - id: test-app
    trust: standard
    scopes: [echo]
users:
  - id: alice
    roles: [user]
`;
}

interface Stats {
  p50: number;
  p99: number;
  mean: number;
  rps: number;
  /** CPU milliseconds (user + system) per request of each watched process. */
  cpu: Record<string, number>;
}

/** CPU time (user + system) of process `pid` so far, milliseconds (Linux /proc; 0 elsewhere). */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100).
  } catch {
    return 0;
  }
}

/** The processes whose CPU is counted: the benchmark's own, and its servers. */
const watched = new Map<string, number | undefined>([['bench', process.pid]]);

async function measure(inFlight: number, total: number, op: () => Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < Math.min(50, total); i++) await op(); // Warm up.
  const latencies: number[] = [];
  let next = 0;
  const cpuBefore = new Map([...watched].map(([k, pid]) => [k, cpuMs(pid)]));
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) {
        next++;
        const t = performance.now();
        await op();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const wall = performance.now() - started;
  const cpu = Object.fromEntries([...watched].map(([k, pid]) => [k, (cpuMs(pid) - cpuBefore.get(k)!) / total]));
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { p50: at(0.5), p99: at(0.99), mean: latencies.reduce((a, b) => a + b, 0) / latencies.length, rps: (latencies.length / wall) * 1000, cpu };
}

async function connect(url: string, token?: string): Promise<Client> {
  const c = new Client({ name: 'bench', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : {}));
  return c;
}

async function main(): Promise<void> {
  const dir = tempDir('gateway-bench');
  const certs = genCerts(dir);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  mkdirSync(join(dir, 'policy'));
  writeFileSync(join(dir, 'policy/policy.yaml'), policy(base));
  const pdp = await startPdp(dir, certs, join(dir, 'policy'));
  const everything = await startEverything();
  const gw = await startGateway(dir, `listen: 127.0.0.1:${port}
port_file: ${join(dir, 'gateway.port')}
pdp: {address: "${pdp.address}", proto_dir: "${REPO_ROOT}/proto", ca: ${certs}/ca.pem, cert: ${certs}/gateway.pem, key: ${certs}/gateway.key}
upstreams:
  - {id: everything, url: "${everything.url}"}
`);
  watched.set('everything', everything.child.proc.pid);
  watched.set('gateway', gw.child.proc.pid);
  watched.set('pdp', pdp.child.proc.pid);
  try {
    const token = await mint(certs, { aud: `${base}/mcp/everything`, sub: 'alice', scope: 'echo', lifetime: 3600 });
    const direct = await connect(everything.url);
    const viaGateway = await connect(`${base}/mcp/everything`, token);
    const rows: string[] = [];
    const cpuRows: string[] = [];
    for (const [opName, op] of [
      ['tools/call echo', (c: Client) => c.callTool({ name: 'echo', arguments: { message: 'hi' } })],
      ['tools/list', (c: Client) => c.listTools()],
    ] as const) {
      for (const inFlight of [1, 32]) {
        const d = await measure(inFlight, ITERATIONS, () => op(direct));
        const g = await measure(inFlight, ITERATIONS, () => op(viaGateway));
        const f = (n: number): string => n.toFixed(2);
        rows.push(`| ${opName} | ${inFlight} | ${f(d.p50)} | ${f(g.p50)} | ${f(g.p50 - d.p50)} | ${f(d.p99)} | ${f(g.p99)} | ${d.rps.toFixed(0)} | ${g.rps.toFixed(0)} |`);
        const c = (st: Stats): string => ['bench', 'everything', 'gateway', 'pdp'].map((k) => f(st.cpu[k] ?? 0)).join(' | ');
        cpuRows.push(`| ${opName} | ${inFlight} | direct | ${c(d)} |`, `| ${opName} | ${inFlight} | gateway | ${c(g)} |`);
        process.stderr.write(`${rows[rows.length - 1]}\n`);
      }
    }
    process.stdout.write(
      `${ITERATIONS} requests per row after 50 warm-up, node ${process.version}\n\n` +
        '| operation | in flight | direct p50 ms | gateway p50 ms | added p50 ms | direct p99 ms | gateway p99 ms | direct req/s | gateway req/s |\n' +
        '|---|---|---|---|---|---|---|---|---|\n' +
        `${rows.join('\n')}\n\n` +
        'CPU milliseconds per request (user + system) of each process:\n\n' +
        '| operation | in flight | path | bench client | server-everything | gateway | pdp-server |\n' +
        '|---|---|---|---|---|---|---|\n' +
        `${cpuRows.join('\n')}\n`,
    );
    await direct.close();
    await viaGateway.close();
  } finally {
    await gw.child.stop();
    await everything.child.stop();
    await pdp.child.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
