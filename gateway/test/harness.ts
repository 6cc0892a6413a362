// End-to-end harness: the real pdp-server over mTLS (certificates from
// tools/gen_dev_certs.sh, port 0 and a port file), real MCP servers from npm,
// the gateway as its own process (node dist/src/main.js --config), and
// tokens signed by the development issuer the PDP trusts.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

import { SignJWT, importPKCS8 } from 'jose';

/** gateway/ (this file runs from gateway/dist/test/). */
export const GATEWAY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const REPO_ROOT = process.env.PDP_REPO_ROOT ?? resolve(GATEWAY_DIR, '..');

export function pdpServerBinary(): string {
  const candidates = [process.env.PDP_SERVER, join(REPO_ROOT, 'bazel-bin/pdp/server/server')].filter((c): c is string => !!c);
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`pdp-server not found (tried ${candidates.join(', ')}): bazel build //pdp/server:server, or set PDP_SERVER`);
}

export function tempDir(name: string): string {
  return mkdtempSync(join(process.env.TEST_TMPDIR ?? tmpdir(), `${name}-`));
}

/** A port that was free a moment ago (for servers that cannot write a port file). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** A child process with its output collected. */
export class Child {
  out = '';
  readonly exited: Promise<number | null>;
  constructor(readonly proc: ChildProcess) {
    proc.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((ok) => proc.once('exit', (code) => ok(code)));
  }
  /** Resolves when `pattern` appears in the output; rejects if the process ends first or after `ms`. */
  waitFor(pattern: RegExp, ms = 30000): Promise<RegExpMatchArray> {
    return new Promise((ok, fail) => {
      const started = Date.now();
      const tick = (): void => {
        const m = this.out.match(pattern);
        if (m) return ok(m);
        if (this.proc.exitCode !== null) return fail(new Error(`process exited (${this.proc.exitCode}) before ${pattern}:\n${this.out}`));
        if (Date.now() - started > ms) return fail(new Error(`timed out waiting for ${pattern}:\n${this.out}`));
        setTimeout(tick, 20);
      };
      tick();
    });
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(t);
    }
  }
}

/** Waits for a file to hold a port number. */
export async function readPortFile(file: string, child: Child, ms = 60000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (existsSync(file)) {
      const n = Number(readFileSync(file, 'utf8').trim());
      if (n > 0) return n;
    }
    if (child.proc.exitCode !== null) throw new Error(`exited (${child.proc.exitCode}) before writing ${file}:\n${child.out}`);
    if (Date.now() - started > ms) throw new Error(`no port in ${file} after ${ms} ms:\n${child.out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function genCerts(dir: string): string {
  const certs = join(dir, 'certs');
  execFileSync('bash', [join(REPO_ROOT, 'tools/gen_dev_certs.sh'), certs], { stdio: 'pipe' });
  return certs;
}

export interface Pdp {
  readonly address: string;
  readonly decisionLog: string;
  readonly child: Child;
}

/** Starts the real pdp-server on a free port with `policyDir`, trusting the dev token issuer. */
export async function startPdp(dir: string, certs: string, policyDir: string): Promise<Pdp> {
  const decisionLog = join(dir, 'decisions.jsonl');
  const config = join(dir, 'pdp.yaml');
  writeFileSync(
    config,
    `tls:
  cert: ${certs}/server.pem
  key: ${certs}/server.key
  client_ca: ${certs}/ca.pem
policy: ${policyDir}
tokens:
  settings: ${certs}/tokens.yaml
callers:
  - identity: spiffe://acme.example/gateway
    permissions: [check, filter]
decision_log:
  path: ${decisionLog}
`,
  );
  const portFile = join(dir, 'pdp.port');
  const child = new Child(
    spawn(pdpServerBinary(), ['--config', config, '--listen', '127.0.0.1:0', '--lame-duck-seconds', '0', '--port-file', portFile], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const port = await readPortFile(portFile, child);
  return { address: `localhost:${port}`, decisionLog, child };
}

/** @modelcontextprotocol/server-everything over Streamable HTTP on a free port. */
export const EVERYTHING_ENTRY = join(GATEWAY_DIR, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

export async function startEverything(): Promise<{ url: string; child: Child }> {
  const port = await freePort();
  const child = new Child(spawn(process.execPath, [EVERYTHING_ENTRY, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] }));
  await child.waitFor(/listening on port/);
  return { url: `http://127.0.0.1:${port}/mcp`, child };
}

export const MEMORY_SERVER = join(GATEWAY_DIR, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');

export interface Gw {
  readonly port: number;
  readonly base: string;
  readonly child: Child;
}

/** Starts the gateway process with `configYaml` (written to DIR/gateway.yaml); `port` must be free. */
export async function startGateway(dir: string, configYaml: string): Promise<Gw> {
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, configYaml);
  const portFile = join(dir, 'gateway.port');
  const child = new Child(spawn(process.execPath, [...(process.env.GATEWAY_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''), join(GATEWAY_DIR, 'dist/src/main.js'), '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const port = await readPortFile(portFile, child);
  return { port, base: `http://127.0.0.1:${port}`, child };
}

export interface TokenOptions {
  sub?: string;
  client?: string;
  scope?: string;
  aud: string;
  amr?: string[];
  lifetime?: number;
  iatOffset?: number;
  cnfJkt?: string;
  cnfX5t?: string;
}

/** An access token from the development issuer (tools/gen_dev_certs.sh's token-issuer.key, kid dev-1). */
export async function mint(certs: string, o: TokenOptions): Promise<string> {
  const key = await importPKCS8(readFileSync(join(certs, 'token-issuer.key'), 'utf8'), 'EdDSA');
  const iat = Math.floor(Date.now() / 1000) + (o.iatOffset ?? 0);
  const claims: Record<string, unknown> = {
    client_id: o.client ?? 'test-app',
    scope: o.scope ?? '',
    amr: o.amr ?? ['pwd'],
  };
  if (o.cnfJkt) claims.cnf = { jkt: o.cnfJkt };
  if (o.cnfX5t) claims.cnf = { 'x5t#S256': o.cnfX5t };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: 'dev-1', typ: 'at+jwt' })
    .setIssuer('https://login.acme.example')
    .setSubject(o.sub ?? 'alice')
    .setAudience(o.aud)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (o.lifetime ?? 600))
    .setJti(Math.random().toString(36).slice(2))
    .sign(key);
}
