// End to end: the real PDP over mTLS, the gateway process, real MCP servers
// from npm (server-everything over Streamable HTTP, server-memory over
// stdio), and the official SDK clients as users: v2 (2026 era) and v1
// (@modelcontextprotocol/sdk, 2025 era).
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { createServer, request as httpRequest } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { execFileSync } from 'node:child_process';

import { spawn } from 'node:child_process';

import type { Gw, Pdp } from './harness.js';
import { Child } from './harness.js';
import { EVERYTHING_ENTRY, MEMORY_SERVER, REPO_ROOT, freePort, genCerts, mint, startEverything, startGateway, startPdp, tempDir } from './harness.js';
import { ALL_SCOPES, testPolicy } from './policy.js';

let dir = '';
let certs = '';
let pdp: Pdp;
let everything: { url: string; child: Child };
let gw: Gw;
let as: HttpServer;
let tlsPort = 0;
/** Nothing listens here when the gateway starts: its upstream "late" is down. */
let latePort = 0;
/** Every Authorization header the upstream server-everything received through the gateway. */
const upstreamAuthorizations: string[] = [];
/** Every request body it received. */
const upstreamBodies: string[] = [];
let recorder: HttpServer;
let asUrl = '';

const EVERYTHING = '/mcp/everything';
const MEMORY = '/mcp/memory';
const SLOW = '/mcp/slow';
const LOCAL = '/mcp/local';

function aud(path: string): string {
  return `${gw.base}${path}`;
}

async function token(path: string, sub: string, scope = ALL_SCOPES, extra: Partial<Parameters<typeof mint>[1]> = {}): Promise<string> {
  return mint(certs, { aud: aud(path), sub, scope, ...extra });
}

/** The v2 client pinned to the 2026-07-28 revision (its default is the 2025 handshake). */
const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;

async function v2(path: string, tok: string): Promise<ClientV2> {
  const c = new ClientV2({ name: 'e2e-v2', version: '1.0.0' }, MODERN);
  await c.connect(new TransportV2(new URL(aud(path)), { requestInit: { headers: { Authorization: `Bearer ${tok}` } } }));
  return c;
}

async function v1(path: string, tok: string): Promise<ClientV1> {
  const c = new ClientV1({ name: 'e2e-v1', version: '1.0.0' });
  await c.connect(new TransportV1(new URL(aud(path)), { requestInit: { headers: { Authorization: `Bearer ${tok}` } } }));
  return c;
}

/** A raw JSON-RPC POST, as a misbehaving client would send it. */
async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(aud(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18', ...headers },
    body,
  });
}

/** A POST over TLS, optionally with a client certificate. */
function httpsPost(url: string, body: string, headers: Record<string, string>, ca: string, client?: { cert: string; key: string } | '' | undefined): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = httpsRequest(url, {
      method: 'POST', ca: readFileSync(ca),
      ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18', ...headers },
    }, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => (data += d.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? '').join('\n');
}

before(async () => {
  dir = tempDir('gateway-e2e');
  certs = genCerts(dir);
  const gwPort = await freePort();
  const base = `http://127.0.0.1:${gwPort}`;
  tlsPort = await freePort();
  latePort = await freePort();
  const policyDir = join(dir, 'policy');
  mkdirSync(policyDir);
  writeFileSync(join(policyDir, 'policy.yaml'), testPolicy(base, `https://127.0.0.1:${tlsPort}`));
  pdp = await startPdp(dir, certs, policyDir);
  everything = await startEverything();
  // In front of server-everything: records the credentials the gateway sends it.
  const target = new URL(everything.url);
  recorder = createServer((req, res) => {
    upstreamAuthorizations.push(String(req.headers.authorization));
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => upstreamBodies.push(body));
    const up = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((ok) => recorder.listen(0, '127.0.0.1', () => ok()));
  const recorded = `http://127.0.0.1:${(recorder.address() as { port: number }).port}/mcp`;
  as = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      issuer: asUrl, authorization_endpoint: `${asUrl}/authorize`, token_endpoint: `${asUrl}/token`,
      response_types_supported: ['code'], code_challenge_methods_supported: ['S256'],
    }));
  });
  await new Promise<void>((ok) => as.listen(0, '127.0.0.1', () => ok()));
  asUrl = `http://127.0.0.1:${(as.address() as { port: number }).port}`;
  gw = await startGateway(dir, `listen: 127.0.0.1:${gwPort}
port_file: ${join(dir, 'gateway.port')}
authorization_servers: ["${asUrl}"]
max_body_bytes: 65536
pdp:
  address: ${pdp.address}
  proto_dir: ${REPO_ROOT}/proto
  ca: ${certs}/ca.pem
  cert: ${certs}/gateway.pem
  key: ${certs}/gateway.key
upstreams:
  - id: everything
    url: ${recorded}
    headers: {Authorization: "Bearer upstream-own-credential"}
  - id: memory
    command: [${process.execPath}, ${MEMORY_SERVER}]
    env: {MEMORY_FILE_PATH: ${join(dir, 'memory.jsonl')}}
  - id: slow
    url: ${everything.url}
    timeout_ms: 1500
  - id: local
    command: [${process.execPath}, ${EVERYTHING_ENTRY}, stdio]
    tool_prefix: local_
  - id: late
    url: http://127.0.0.1:${latePort}/mcp
`);
});

after(async () => {
  await gw?.child.stop();
  await everything?.child.stop();
  await pdp?.child.stop();
  as?.close();
  recorder?.close();
});

describe('resource server', () => {
  test('publishes RFC 9728 metadata for each upstream', async () => {
    const r = await fetch(`${gw.base}/.well-known/oauth-protected-resource${EVERYTHING}`);
    assert.equal(r.status, 200);
    const doc = (await r.json()) as Record<string, unknown>;
    assert.equal(doc.resource, aud(EVERYTHING));
    assert.deepEqual(doc.authorization_servers, [asUrl]);
  });

  test('no token: 401 with resource_metadata', async () => {
    const r = await post(EVERYTHING, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
    assert.equal(r.status, 401);
    assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const www = r.headers.get('www-authenticate') ?? '';
    assert.match(www, /^Bearer /);
    assert.ok(www.includes(`resource_metadata="${gw.base}/.well-known/oauth-protected-resource${EVERYTHING}"`), www);
  });

  test('a token for another audience is refused with 401', async () => {
    const other = await mint(certs, { aud: everything.url, sub: 'alice', scope: ALL_SCOPES });
    await assert.rejects(v2(EVERYTHING, other), /HTTP 401/);
    const r0 = await post(EVERYTHING, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), { authorization: `Bearer ${other}` });
    assert.equal(r0.status, 401);
    assert.match(await r0.text(), /not issued for this resource/);
    // A token for the memory upstream is not good on everything either.
    const memoryToken = await token(MEMORY, 'alice');
    const r = await post(EVERYTHING, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), { authorization: `Bearer ${memoryToken}` });
    assert.equal(r.status, 401);
  });

  test('an expired token is refused with 401', async () => {
    const expired = await token(EVERYTHING, 'alice', ALL_SCOPES, { iatOffset: -1200, lifetime: 600 });
    const r = await post(EVERYTHING, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), { authorization: `Bearer ${expired}` });
    assert.equal(r.status, 401);
    assert.match(await r.text(), /expired/);
  });

  test('DPoP-bound tokens: the proof is verified here, its key thumbprint checked by the PDP', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const jkt = await calculateJwkThumbprint(jwk, 'sha256');
    const bound = await token(EVERYTHING, 'bob', 'echo', { cnfJkt: jkt });
    const proof = async (key = privateKey, pub = jwk, tok = bound): Promise<string> =>
      new SignJWT({ htm: 'POST', htu: aud(EVERYTHING), jti: Math.random().toString(36).slice(2), ath: createHash('sha256').update(tok).digest('base64url') })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: pub })
        .setIssuedAt()
        .sign(key);
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const good = await proof();
    let r = await post(EVERYTHING, ping, { authorization: `DPoP ${bound}`, dpop: good });
    assert.equal(r.status, 200, await r.clone().text());
    r = await post(EVERYTHING, ping, { authorization: `DPoP ${bound}`, dpop: good });
    assert.equal(r.status, 401, 'a replayed proof');
    r = await post(EVERYTHING, ping, { authorization: `Bearer ${bound}` });
    assert.equal(r.status, 401, 'a bound token without its proof');
    const other = await generateKeyPair('ES256');
    r = await post(EVERYTHING, ping, { authorization: `DPoP ${bound}`, dpop: await proof(other.privateKey, await exportJWK(other.publicKey)) });
    assert.equal(r.status, 401, 'a proof by another key');
    assert.match(await r.text(), /TOKEN_BINDING_MISMATCH/);
    assert.match(r.headers.get('www-authenticate') ?? '', /DPoP error="invalid_token", algs="ES256/);
  });

  test('mTLS-bound tokens (RFC 8705): the client certificate of the TLS connection goes to the PDP', async () => {
    const tlsDir = join(dir, 'tls-gateway');
    mkdirSync(tlsDir);
    const tlsGw = await startGateway(tlsDir, `listen: 127.0.0.1:${tlsPort}
port_file: ${join(tlsDir, 'gateway.port')}
tls: {cert: ${certs}/server.pem, key: ${certs}/server.key}
pdp: {address: "${pdp.address}", proto_dir: "${REPO_ROOT}/proto", ca: ${certs}/ca.pem, cert: ${certs}/gateway.pem, key: ${certs}/gateway.key}
upstreams:
  - {id: everything, url: "${everything.url}"}
`);
    try {
      const der = new X509Certificate(readFileSync(join(certs, 'mcp-server.pem'))).raw;
      const x5t = createHash('sha256').update(der).digest('base64url');
      const url = `https://127.0.0.1:${tlsPort}${EVERYTHING}`;
      const bound = await mint(certs, { aud: url, sub: 'bob', scope: 'echo', cnfX5t: x5t });
      const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
      const as = (name?: string) => httpsPost(url, ping, { authorization: `Bearer ${bound}` }, join(certs, 'ca.pem'), name && { cert: join(certs, `${name}.pem`), key: join(certs, `${name}.key`) });
      assert.equal((await as('mcp-server')).status, 200);
      const without = await as();
      assert.equal(without.status, 401);
      assert.match(without.body, /TOKEN_BINDING_MISMATCH/);
      assert.equal((await as('ci')).status, 401, 'another certificate');
    } finally {
      await tlsGw.child.stop();
    }
  });

  test('a tampered token is refused with 401 (the PDP verifies the signature)', async () => {
    const good = await token(EVERYTHING, 'bob', 'echo');
    const [h, c, s] = good.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as Record<string, unknown>;
    claims.sub = 'alice';
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    const r = await post(EVERYTHING, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), { authorization: `Bearer ${forged}` });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /invalid_token/);
  });

  test('token checks are cached: a session asks the PDP once, not once per request', async () => {
    const probes = (): number => readFileSync(pdp.decisionLog, 'utf8').split('\n').filter((l) => l.includes('"tool":"everything.__gateway_token_check__"')).length;
    // The PDP writes its decision log off the request path: let earlier lines land first.
    await new Promise((r) => setTimeout(r, 300));
    const before = probes();
    const c = await v1(EVERYTHING, await token(EVERYTHING, 'bob', 'echo', { lifetime: 300 }));
    for (let i = 0; i < 3; i++) await c.listTools();
    await c.ping();
    await c.listResources();
    await c.close();
    for (let i = 0; i < 40 && probes() === before; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(probes() - before, 1, 'initialize, 3 tools/list, ping and resources/list: one token check');
  });
});

describe('tools/list', () => {
  test('two users see different tools, in a stable order (v2 client, 2026 era)', async () => {
    const alice = await v2(EVERYTHING, await token(EVERYTHING, 'alice'));
    const bob = await v2(EVERYTHING, await token(EVERYTHING, 'bob'));
    const a = (await alice.listTools()).tools.map((t) => t.name);
    const b = (await bob.listTools()).tools.map((t) => t.name);
    assert.deepEqual(b, ['echo', 'get-sum']);
    assert.deepEqual(a, [...a].sort());
    for (const n of ['echo', 'get-env', 'get-structured-content', 'get-sum', 'get-tiny-image', 'get-annotated-message']) assert.ok(a.includes(n), `${n} in ${a}`);
    assert.ok(!a.includes('get-resource-links'), 'a tool the policy does not define is hidden');
    assert.equal(alice.getNegotiatedProtocolVersion(), '2026-07-28');
    await alice.close();
    await bob.close();
  });

  test('the same through the v1 client (2025 era)', async () => {
    const bob = await v1(EVERYTHING, await token(EVERYTHING, 'bob'));
    assert.deepEqual((await bob.listTools()).tools.map((t) => t.name), ['echo', 'get-sum']);
    assert.match(bob.getServerVersion()?.name ?? '', /pdp-gateway/);
    await bob.close();
  });

  test('2026 era: the list is marked private to the caller (cacheScope)', async () => {
    const bodies: string[] = [];
    const capture = async (url: string | URL, init?: RequestInit): Promise<Response> => {
      const r = await fetch(url, init);
      bodies.push(await r.clone().text());
      return r;
    };
    const c = new ClientV2({ name: 'e2e-v2', version: '1.0.0' }, MODERN);
    const t = await token(EVERYTHING, 'bob');
    await c.connect(new TransportV2(new URL(aud(EVERYTHING)), { fetch: capture, requestInit: { headers: { Authorization: `Bearer ${t}` } } }));
    await c.listTools();
    const list = bodies.find((b) => b.includes('"tools"'));
    assert.ok(list, bodies.join('\n'));
    assert.match(list, /"cacheScope":"private"/);
    await c.close();
  });

  test('what a call still needs is in the description and _meta', async () => {
    const alice = await v2(EVERYTHING, await token(EVERYTHING, 'alice'));
    const tools = (await alice.listTools()).tools;
    const byName = new Map(tools.map((t) => [t.name, t]));
    assert.match(byName.get('get-tiny-image')?.description ?? '', /multi-factor authentication/);
    assert.match(byName.get('get-structured-content')?.description ?? '', /location data are withheld/);
    const meta = byName.get('get-structured-content')?._meta?.['io.github.pdp/enforcement'] as Record<string, unknown>;
    assert.deepEqual(meta.redact, ['location']);
    assert.match(String(meta.definition_sha256), /^[0-9a-f]{64}$/);
    await alice.close();
  });
});

describe('tools/call', () => {
  test('an allowed call is forwarded (v2 and v1 clients)', async () => {
    const t = await token(EVERYTHING, 'bob', 'echo math');
    const c2 = await v2(EVERYTHING, t);
    assert.match(text(await c2.callTool({ name: 'echo', arguments: { message: 'hello v2' } })), /hello v2/);
    await c2.close();
    const c1 = await v1(EVERYTHING, t);
    assert.match(text(await c1.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } })), /5/);
    await c1.close();
  });

  test('a denied call is refused and never reaches upstream', async () => {
    // bob may not create entities in memory through batch-agent... use a user the policy does not know.
    const mallory = await v2(MEMORY, await token(MEMORY, 'mallory'));
    const r = await mallory.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'evil', entityType: 't', observations: [] }] } });
    assert.equal(r.isError, true);
    assert.match(text(r), /USER_UNKNOWN/);
    assert.match(text(r), /nothing was sent/);
    await mallory.close();
    const alice = await v2(MEMORY, await token(MEMORY, 'alice'));
    const graph = text(await alice.callTool({ name: 'read_graph', arguments: {} }));
    assert.ok(!graph.includes('evil'), graph);
    await alice.close();
  });

  test('a stdio upstream: allowed calls reach server-memory', async () => {
    const alice = await v2(MEMORY, await token(MEMORY, 'alice'));
    await alice.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'gateway', entityType: 'thing', observations: ['works'] }] } });
    assert.match(text(await alice.callTool({ name: 'read_graph', arguments: {} })), /gateway/);
    await alice.close();
  });

  test('a user without the tool gets the failing link, not a list of tools', async () => {
    const bob = await v2(EVERYTHING, await token(EVERYTHING, 'bob'));
    const r = await bob.callTool({ name: 'get-env', arguments: { canary: 'bob-denied' } });
    assert.equal(r.isError, true);
    assert.match(text(r), /user: USER_NOT_PERMITTED/);
    assert.ok(!upstreamBodies.some((b) => b.includes('bob-denied')), 'the denied call reached the upstream');
    assert.ok(!text(r).includes('get-tiny-image'));
    await bob.close();
  });

  test('missing scopes: 403 insufficient_scope naming every scope the call needs', async () => {
    const t = await token(EVERYTHING, 'alice', 'echo');
    const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'get-env', arguments: {} } });
    const r = await post(EVERYTHING, body, { authorization: `Bearer ${t}` });
    assert.equal(r.status, 403);
    const www = r.headers.get('www-authenticate') ?? '';
    assert.match(www, /error="insufficient_scope"/);
    assert.match(www, /scope="admin env:read"/);
    assert.match(www, /resource_metadata="/);
  });

  test("the v1 client's own step-up flow asks for exactly the missing scopes", async () => {
    const t = await token(EVERYTHING, 'alice', 'echo');
    let authorizationUrl: URL | undefined;
    const provider: OAuthClientProvider = {
      get redirectUrl() { return 'http://127.0.0.1:33418/callback'; },
      get clientMetadata() { return { client_name: 'e2e', redirect_uris: ['http://127.0.0.1:33418/callback'] }; },
      clientInformation: () => ({ client_id: 'test-app' }),
      tokens: () => ({ access_token: t, token_type: 'Bearer' }),
      saveTokens: () => {},
      redirectToAuthorization: (url: URL) => { authorizationUrl = url; },
      saveCodeVerifier: () => {},
      codeVerifier: () => 'v',
    };
    const c = new ClientV1({ name: 'e2e-v1-stepup', version: '1.0.0' });
    await c.connect(new TransportV1(new URL(aud(EVERYTHING)), { authProvider: provider }));
    await assert.rejects(c.callTool({ name: 'get-env', arguments: {} }), /nauthorized/);
    assert.ok(authorizationUrl, 'the client started an authorization request');
    assert.equal(authorizationUrl.searchParams.get('scope'), 'admin env:read');
    assert.equal(authorizationUrl.searchParams.get('resource'), aud(EVERYTHING));
    await c.close();
  });

  test("the upstream's progress reaches the client (v1 client, 2025 era)", async () => {
    const alice = await v1(LOCAL, await token(LOCAL, 'alice'));
    const seen: number[] = [];
    const r = await alice.callTool({ name: 'local_trigger-long-running-operation', arguments: { duration: 1, steps: 3 } }, undefined, {
      onprogress: (p) => seen.push(p.progress),
    });
    assert.notEqual(r.isError, true, text(r));
    assert.ok(seen.length >= 2, `progress seen: ${seen.join(', ')}`);
    await alice.close();
  });

  test('step-up: an error naming the strength needed', async () => {
    const alice = await v2(EVERYTHING, await token(EVERYTHING, 'alice'));
    const r = await alice.callTool({ name: 'get-tiny-image', arguments: {} });
    assert.equal(r.isError, true);
    assert.match(text(r), /Step-up authentication required.*multi-factor/s);
    await alice.close();
    const mfa = await v2(EVERYTHING, await token(EVERYTHING, 'alice', ALL_SCOPES, { amr: ['pwd', 'otp'] }));
    const ok = await mfa.callTool({ name: 'get-tiny-image', arguments: {} });
    assert.notEqual(ok.isError, true);
    await mfa.close();
  });

  test('approval required: a clear result, nothing forwarded', async () => {
    const agent = await v2(EVERYTHING, await token(EVERYTHING, 'alice', 'echo', { client: 'batch-agent' }));
    const listed = (await agent.listTools()).tools.find((t) => t.name === 'get-annotated-message');
    assert.match(listed?.description ?? '', /Calls need a human approver first/);
    const r = await agent.callTool({ name: 'get-annotated-message', arguments: { messageType: 'success' } });
    assert.equal(r.isError, true);
    assert.match(text(r), /^Approval required/);
    await agent.close();
  });

  test('a redaction obligation without field paths withholds the whole result', async () => {
    const alice = await v2(EVERYTHING, await token(EVERYTHING, 'alice'));
    const r = await alice.callTool({ name: 'get-structured-content', arguments: { location: 'New York' } });
    assert.equal(r.isError, true);
    assert.match(text(r), /withheld.*location/s);
    assert.equal(r.structuredContent, undefined);
    await alice.close();
  });

  test('every enforced call is in the gateway log with the PDP decision id, which the PDP logged', async () => {
    const bob = await v2(EVERYTHING, await token(EVERYTHING, 'bob', 'echo'));
    await bob.callTool({ name: 'echo', arguments: { message: 'trace me' } });
    await bob.close();
    const lines = gw.child.out.split('\n').filter((l) => l.includes('"msg":"decision"'));
    const last = JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, string>;
    assert.equal(last.tool, 'everything.echo');
    assert.match(last.request_id ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(last.decision_id);
    // The PDP writes its decision log off the request path; give it a moment.
    for (let i = 0; i < 100 && !readFileSync(pdp.decisionLog, 'utf8').includes(last.decision_id!); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(readFileSync(pdp.decisionLog, 'utf8').includes(`"decision_id":"${last.decision_id}"`));
  });
});

describe('resources and prompts', () => {
  test('pass through unchanged (v2 client, 2026 era, and v1)', async () => {
    const t = await token(EVERYTHING, 'bob');
    const c2 = await v2(EVERYTHING, t);
    const resources = (await c2.listResources()).resources;
    assert.ok(resources.length > 0);
    const first = resources[0]!;
    const read = await c2.readResource({ uri: first.uri });
    assert.equal(read.contents[0]?.uri, first.uri);
    const prompts = (await c2.listPrompts()).prompts.map((p) => p.name);
    assert.ok(prompts.includes('simple-prompt'), prompts.join(', '));
    await c2.close();
    const c1 = await v1(EVERYTHING, t);
    assert.ok((await c1.getPrompt({ name: 'simple-prompt' })).messages.length > 0);
    await c1.close();
  });
});

describe('server-to-client notifications', () => {
  test("the upstream's resource updates reach 2026-era listen streams that asked for the resource", async () => {
    const t = await token(EVERYTHING, 'alice');
    const listener = await v2(EVERYTHING, t);
    const [first, second] = (await listener.listResources()).resources;
    assert.ok(first && second);
    const updates: string[] = [];
    listener.setNotificationHandler('notifications/resources/updated', (n) => {
      updates.push(n.params.uri);
    });
    const subscription = await listener.listen({ resourceSubscriptions: [first.uri] });
    // The gateway's one upstream session subscribes (2025 era, passed through) and turns
    // server-everything's simulated updates on; it sends one at once, then every 5 s.
    const driver = await v1(EVERYTHING, t);
    await driver.subscribeResource({ uri: first.uri });
    await driver.subscribeResource({ uri: second.uri });
    const on = await driver.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
    assert.notEqual(on.isError, true, text(on));
    try {
      for (let i = 0; i < 200 && updates.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(updates.includes(first.uri), `updates: ${updates.join(', ')}`);
      assert.ok(!updates.includes(second.uri), 'a resource this stream did not ask for');
    } finally {
      await driver.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      await driver.unsubscribeResource({ uri: first.uri });
      await driver.unsubscribeResource({ uri: second.uri });
      await subscription.close();
      await driver.close();
      await listener.close();
    }
  });
});

describe('bad input', () => {
  let auth = '';
  before(async () => {
    auth = `Bearer ${await token(EVERYTHING, 'alice')}`;
  });

  test('malformed JSON: 400 parse error', async () => {
    const r = await post(EVERYTHING, '{"jsonrpc": "2.0", "id": 1, "method": ', { authorization: auth });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { error: { code: number } }).error.code, -32700);
  });

  test('not JSON-RPC, and batches: 400 invalid request', async () => {
    for (const body of ['{"hello": 1}', '[{"jsonrpc":"2.0","id":1,"method":"ping"}]']) {
      const r = await post(EVERYTHING, body, { authorization: auth });
      assert.equal(r.status, 400, body);
      assert.equal(((await r.json()) as { error: { code: number } }).error.code, -32600);
    }
  });

  test('oversize body: 413', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x'.repeat(100000) } } });
    const r = await post(EVERYTHING, big, { authorization: auth });
    assert.equal(r.status, 413);
  });

  test('Mcp-Method / Mcp-Name headers that disagree with the body: 400, nothing decided', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get-env', arguments: {} } });
    let r = await post(EVERYTHING, body, { authorization: auth, 'mcp-method': 'tools/list' });
    assert.equal(r.status, 400);
    r = await post(EVERYTHING, body, { authorization: auth, 'mcp-method': 'tools/call', 'mcp-name': 'echo' });
    assert.equal(r.status, 400);
    assert.match(await r.text(), /Mcp-Name/);
  });

  test('2026 era: the v2 client with an Mcp-Name header rewritten in transit gets 400, nothing forwarded', async () => {
    const tamper = async (url: string | URL, init?: RequestInit): Promise<Response> => {
      const headers = new Headers(init?.headers);
      if (headers.get('mcp-method') === 'tools/call') headers.set('mcp-name', 'echo');
      return fetch(url, { ...init, headers });
    };
    const c = new ClientV2({ name: 'e2e-v2', version: '1.0.0' }, MODERN);
    await c.connect(new TransportV2(new URL(aud(EVERYTHING)), { fetch: tamper, requestInit: { headers: { authorization: auth } } }));
    await assert.rejects(c.callTool({ name: 'get-sum', arguments: { a: 40, b: 2, canary: 'tampered-name' } }), /400|Mcp-Name/);
    assert.ok(!upstreamBodies.some((b) => b.includes('tampered-name')));
    await c.close();
  });

  test('a tool name with odd characters: invalid params', async () => {
    for (const name of ['echo\u0000', '../echo', 'e'.repeat(200), 'échо']) {
      const r = await post(EVERYTHING, JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name, arguments: {} } }), { authorization: auth });
      const j = (await r.json()) as { error?: { code: number } };
      assert.equal(j.error?.code, -32602, name);
    }
  });

  test('a tool the upstream does not have: an error result, nothing decided or forwarded', async () => {
    const r = await post(EVERYTHING, JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'no-such-tool', arguments: {} } }), { authorization: auth });
    const body = await r.text();
    assert.match(body, /"isError":true/);
    assert.match(body, /Unknown tool: no-such-tool/);
  });

  test('deeply nested arguments: refused or answered, and the gateway keeps serving', async () => {
    const depth = 30000;
    const body = `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"message":"x","deep":${'['.repeat(depth)}${']'.repeat(depth)}}}}`;
    const r = await post(EVERYTHING, body, { authorization: auth });
    assert.ok(r.status < 500, `status ${r.status}`);
    await r.text();
    const again = await post(EVERYTHING, JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'ping' }), { authorization: auth });
    assert.equal(again.status, 200);
  });

  test('an unknown method is refused', async () => {
    for (const method of ['sampling/createMessage', 'roots/list', 'acme/exfiltrate']) {
      const r = await post(EVERYTHING, JSON.stringify({ jsonrpc: '2.0', id: 9, method, params: {} }), { authorization: auth });
      assert.match(await r.text(), /-32601/, method);
    }
  });

  test('an upstream that hangs: a clear error, and the gateway keeps serving', async () => {
    const alice = await v2(SLOW, await token(SLOW, 'alice'));
    const r = await alice.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 5, steps: 1 } });
    assert.equal(r.isError, true);
    assert.match(text(r), /did not complete/);
    await alice.close();
    const bob = await v2(EVERYTHING, await token(EVERYTHING, 'bob'));
    assert.deepEqual((await bob.listTools()).tools.map((t) => t.name), ['echo', 'get-sum']);
    await bob.close();
  });

  test('an upstream that dies mid-call: a clear error; it is restarted on the next request', async () => {
    const alice = await v2(LOCAL, await token(LOCAL, 'alice'));
    // This upstream's names are prefixed (tool_prefix: local_); the policy uses the upstream's own.
    assert.deepEqual((await alice.listTools()).tools.map((t) => t.name), ['local_echo', 'local_trigger-long-running-operation']);
    assert.match(text(await alice.callTool({ name: 'local_echo', arguments: { message: 'before' } })), /before/);
    assert.match(text(await alice.callTool({ name: 'echo', arguments: {} })), /Unknown tool: echo/);
    // Kill it once the call is running there: after its first progress notification.
    let running: () => void = () => {};
    const started = new Promise<void>((ok) => (running = ok));
    const call = alice.callTool({ name: 'local_trigger-long-running-operation', arguments: { duration: 5, steps: 5 } }, { onprogress: () => running() });
    await started;
    // The stdio server the gateway started: its child running server-everything in stdio mode.
    const pids = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(gw.child.proc.pid)], { encoding: 'utf8' })
      .split('\n').filter((l) => l.includes(EVERYTHING_ENTRY) && l.trim().endsWith('stdio')).map((l) => Number(l.trim().split(/\s+/)[0]));
    assert.equal(pids.length, 1, 'one stdio upstream process');
    process.kill(pids[0]!, 'SIGKILL');
    const r = await call;
    assert.equal(r.isError, true);
    assert.match(text(r), /did not complete/);
    assert.match(text(await alice.callTool({ name: 'local_echo', arguments: { message: 'after' } })), /after/);
    await alice.close();
  });

  test("the client's token never reaches the upstream: only the upstream's own credential", async () => {
    assert.ok(upstreamAuthorizations.length > 5, `upstream requests seen: ${upstreamAuthorizations.length}`);
    assert.deepEqual([...new Set(upstreamAuthorizations)], ['Bearer upstream-own-credential']);
  });

  test('an upstream down at start: a clear error, other upstreams served, and it is used once it is up', async () => {
    const alice = await v1('/mcp/late', await token('/mcp/late', 'alice'));
    await assert.rejects(alice.listTools(), /Upstream "late" is unavailable/);
    const bob = await v2(EVERYTHING, await token(EVERYTHING, 'bob'));
    assert.deepEqual((await bob.listTools()).tools.map((t) => t.name), ['echo', 'get-sum']);
    await bob.close();
    const late = new Child(spawn(process.execPath, [EVERYTHING_ENTRY, 'streamableHttp'], { env: { ...process.env, PORT: String(latePort) }, stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      await late.waitFor(/listening on port/);
      assert.deepEqual((await alice.listTools()).tools.map((t) => t.name), ['echo']);
      assert.match(text(await alice.callTool({ name: 'echo', arguments: { message: 'late but here' } })), /late but here/);
    } finally {
      await alice.close();
      await late.stop();
    }
  });

  test('ping passes', async () => {
    const bob = await v1(EVERYTHING, await token(EVERYTHING, 'bob'));
    await bob.ping();
    await bob.close();
  });
});

describe('the PDP down', () => {
  test('fail closed: nothing is listed or forwarded, and the gateway says why', async () => {
    const t = await token(EVERYTHING, 'bob', 'echo');
    await pdp.child.stop();
    const call = JSON.stringify({ jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'echo', arguments: { message: 'pdp-down-canary' } } });
    const r = await post(EVERYTHING, call, { authorization: `Bearer ${t}` });
    assert.equal(r.status, 503);
    assert.match(await r.text(), /policy decision point is unavailable/);
    assert.ok(!upstreamBodies.some((b) => b.includes('pdp-down-canary')), 'a call went upstream undecided');
    const list = await post(EVERYTHING, JSON.stringify({ jsonrpc: '2.0', id: 12, method: 'tools/list' }), { authorization: `Bearer ${t}` });
    assert.equal(list.status, 503);
  });
});
