import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Authenticator, protectedResourceMetadata, resourceFor } from '../src/auth.js';

const resource = resourceFor('https://gw.example', '/mcp/crm');
const NOW = 1_800_000_000;

function jwt(claims: Record<string, unknown>): string {
  const b = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'EdDSA', kid: 'k' })}.${b(claims)}.c2ln`;
}

function req(authorization?: string): Request {
  return new Request(resource.uri, { method: 'POST', headers: authorization ? { authorization } : {} });
}

const auth = new Authenticator({ clockSkewSeconds: 60, now: () => NOW });
const good = { aud: resource.uri, exp: NOW + 300, scope: 'a b', client_id: 'app' };

test('resource: canonical URI and RFC 9728 metadata URL', () => {
  assert.equal(resource.uri, 'https://gw.example/mcp/crm');
  assert.equal(resource.metadataUrl, 'https://gw.example/.well-known/oauth-protected-resource/mcp/crm');
  const doc = protectedResourceMetadata(resource, ['https://as.example'], []);
  assert.equal(doc.resource, resource.uri);
  assert.deepEqual(doc.authorization_servers, ['https://as.example']);
});

test('authenticate: the local refusals, before any PDP call', async () => {
  const refused = async (h: string | undefined, why: RegExp): Promise<void> => {
    const r = await auth.authenticate(req(h), resource);
    assert.equal(r.ok, false, h);
    assert.match(r.ok ? '' : r.description, why);
  };
  await refused(undefined, /No access token/);
  await refused('Basic dXNlcjpwYXNz', /Malformed Authorization/);
  await refused('Bearer not-a-jwt', /not a JWS/);
  await refused(`Bearer ${jwt({ ...good, exp: undefined })}`, /no exp/);
  await refused(`Bearer ${jwt({ ...good, exp: NOW - 61 })}`, /expired/);
  await refused(`Bearer ${jwt({ ...good, aud: 'https://gw.example/mcp/hr' })}`, /not issued for this resource/);
  await refused(`Bearer ${jwt({ ...good, cnf: { jkt: 'x' } })}`, /DPoP-bound token must be sent with Authorization: DPoP/);
  await refused(`DPoP ${jwt(good)}`, /needs a DPoP proof/);
});

test('authenticate: a good token, within the clock skew, with aud as a list', async () => {
  for (const claims of [good, { ...good, exp: NOW - 30 }, { ...good, aud: ['other', `${resource.uri}/`] }]) {
    const r = await auth.authenticate(req(`Bearer ${jwt(claims)}`), resource);
    assert.ok(r.ok, JSON.stringify(claims));
    if (r.ok) {
      assert.deepEqual(r.presented.scopes, ['a', 'b']);
      assert.equal(r.presented.clientId, 'app');
      assert.deepEqual(r.presented.binding, {});
    }
  }
});
