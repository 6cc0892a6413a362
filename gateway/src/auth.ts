// The resource server the client sees (MCP authorization, both eras):
// RFC 9728 protected-resource metadata, the 401/403 challenges, and reading
// the presented token and its binding off a request.
//
// The gateway does not trust a token by itself: the PDP verifies signature,
// issuer, lifetime and binding on every decision. Before asking, the gateway
// refuses what it can see is wrong without any key: no token, a token that
// is no JWS, one whose `exp` has passed, or one whose `aud` does not name
// this resource's canonical URI (the token was issued for someone else). A
// DPoP proof (RFC 9449) is verified here, since the PDP cannot see the HTTP
// request; its key thumbprint goes to the PDP as the binding.
// Thread-compatible; the DPoP replay cache is bounded.
import { createHash } from 'node:crypto';

import {
  OAuthError,
  OAuthErrorCode,
  bearerAuthChallengeResponse,
  getOAuthProtectedResourceMetadataUrl,
} from '@modelcontextprotocol/server';
import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/server';
import { EmbeddedJWK, calculateJwkThumbprint, jwtVerify } from 'jose';

import type { TokenBinding } from './pdp_client.js';

/** One protected resource: an upstream as the gateway serves it. */
export interface Resource {
  /** Canonical URI: the token audience and the metadata's `resource`. */
  readonly uri: string;
  /** Where its RFC 9728 metadata is served. */
  readonly metadataUrl: string;
}

export function resourceFor(publicUrl: string, path: string): Resource {
  const uri = `${publicUrl}${path}`;
  return { uri, metadataUrl: getOAuthProtectedResourceMetadataUrl(new URL(uri)) };
}

export function protectedResourceMetadata(
  resource: Resource,
  authorizationServers: readonly string[],
  scopesSupported: readonly string[],
): OAuthProtectedResourceMetadata {
  return {
    resource: resource.uri,
    authorization_servers: [...authorizationServers],
    ...(scopesSupported.length > 0 ? { scopes_supported: [...scopesSupported] } : {}),
    bearer_methods_supported: ['header'],
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
  };
}

/** The token and binding of an authenticated request. */
export interface Presented {
  readonly token: string;
  readonly binding: TokenBinding;
  /** Claims read without verification (the PDP verifies): for logs and AuthInfo only. */
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly expiresAt: number;
}

export type AuthOutcome = { ok: true; presented: Presented } | { ok: false; description: string };

/** The DPoP proof algorithms the gateway verifies. */
export const DPOP_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const;

export interface AuthOptions {
  readonly clockSkewSeconds: number;
  readonly now?: () => number; // Seconds; injected by tests.
}

/**
 * Reads the credentials of a request to `resource`. `Authorization: Bearer`
 * or `Authorization: DPoP` with a `DPoP` proof header; the mTLS client
 * certificate, when the connection has one, is passed as `clientCertificate`.
 */
export class Authenticator {
  private readonly seenJti = new Map<string, number>();

  constructor(private readonly options: AuthOptions) {}

  private now(): number {
    return this.options.now ? this.options.now() : Math.floor(Date.now() / 1000);
  }

  async authenticate(request: Request, resource: Resource, clientCertificate?: Buffer): Promise<AuthOutcome> {
    const header = request.headers.get('authorization');
    if (!header) return { ok: false, description: 'No access token: send Authorization: Bearer <token>' };
    const m = /^(Bearer|DPoP) +([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    if (!m) return { ok: false, description: 'Malformed Authorization header' };
    const scheme = m[1]!.toLowerCase();
    const token = m[2]!;
    const claims = decodeClaims(token);
    if (!claims) return { ok: false, description: 'The access token is not a JWS compact serialization' };
    const now = this.now();
    const skew = this.options.clockSkewSeconds;
    if (typeof claims.exp !== 'number') return { ok: false, description: 'The access token has no exp' };
    if (claims.exp + skew <= now) return { ok: false, description: 'The access token has expired' };
    const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
    if (!aud.some((a) => typeof a === 'string' && sameResource(a, resource.uri))) {
      return { ok: false, description: `The access token was not issued for this resource (${resource.uri})` };
    }
    const binding: { clientCertificate?: Buffer; dpopJkt?: string } = {};
    if (clientCertificate) binding.clientCertificate = clientCertificate;
    const cnf = claims.cnf;
    const wantsDpop = typeof cnf === 'object' && cnf !== null && 'jkt' in cnf;
    if (scheme === 'dpop' || wantsDpop) {
      if (scheme !== 'dpop') return { ok: false, description: 'A DPoP-bound token must be sent with Authorization: DPoP and a DPoP proof' };
      const proof = request.headers.get('dpop');
      if (!proof) return { ok: false, description: 'Authorization: DPoP needs a DPoP proof header' };
      const jkt = await this.verifyDpop(proof, request, resource, token);
      if (typeof jkt !== 'string') return { ok: false, description: jkt.error };
      binding.dpopJkt = jkt;
    }
    const scope = typeof claims.scope === 'string' ? claims.scope.split(' ').filter((s) => s !== '') : [];
    const clientId = typeof claims.client_id === 'string' ? claims.client_id : typeof claims.azp === 'string' ? claims.azp : '';
    return { ok: true, presented: { token, binding, clientId, scopes: scope, expiresAt: claims.exp } };
  }

  /** RFC 9449 §4.3: returns the proof key's thumbprint, or why the proof is refused. */
  private async verifyDpop(proof: string, request: Request, resource: Resource, token: string): Promise<string | { error: string }> {
    try {
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: [...DPOP_ALGORITHMS],
      });
      const now = this.now();
      const skew = this.options.clockSkewSeconds;
      if (payload.htm !== request.method) return { error: 'DPoP proof: htm does not match the request method' };
      const htu = typeof payload.htu === 'string' ? payload.htu.replace(/[?#].*$/, '') : '';
      if (!sameResource(htu, resource.uri)) return { error: 'DPoP proof: htu does not match the request URI' };
      if (typeof payload.iat !== 'number' || Math.abs(payload.iat - now) > skew) return { error: 'DPoP proof: iat is not recent' };
      const ath = createHash('sha256').update(token).digest('base64url');
      if (payload.ath !== ath) return { error: 'DPoP proof: ath is not the hash of the access token' };
      if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) return { error: 'DPoP proof: jti missing' };
      this.expireJti(now);
      if (this.seenJti.has(payload.jti)) return { error: 'DPoP proof: replayed (jti seen before)' };
      if (this.seenJti.size >= 100000) return { error: 'DPoP proof: replay cache full; retry shortly' };
      this.seenJti.set(payload.jti, now + 2 * skew);
      if (!protectedHeader.jwk) return { error: 'DPoP proof: no jwk' };
      return await calculateJwkThumbprint(protectedHeader.jwk, 'sha256');
    } catch (e) {
      return { error: `DPoP proof: ${(e as Error).message}` };
    }
  }

  private expireJti(now: number): void {
    for (const [jti, until] of this.seenJti) {
      if (until > now) break; // Insertion order is expiry order.
      this.seenJti.delete(jti);
    }
  }
}

/** RFC 3986-ish comparison of resource URIs: ignoring a fragment and one trailing slash. */
function sameResource(a: string, b: string): boolean {
  const norm = (s: string): string => s.replace(/#.*$/, '').replace(/\/$/, '');
  return norm(a) === norm(b);
}

interface Claims {
  exp?: unknown;
  aud?: unknown;
  scope?: unknown;
  client_id?: unknown;
  azp?: unknown;
  cnf?: unknown;
}

/** The claims of a compact JWS, unverified; undefined if it is not one. */
function decodeClaims(token: string): Claims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? (claims as Claims) : undefined;
  } catch {
    return undefined;
  }
}

/** 401 invalid_token with `WWW-Authenticate: Bearer resource_metadata=…`. */
export function unauthorized(resource: Resource, description: string): Response {
  return bearerAuthChallengeResponse(new OAuthError(OAuthErrorCode.InvalidToken, description), {
    resourceMetadataUrl: resource.metadataUrl,
  });
}

/** 403 insufficient_scope naming every scope in `scopes`. */
export function insufficientScope(resource: Resource, scopes: readonly string[], description: string): Response {
  return bearerAuthChallengeResponse(new OAuthError(OAuthErrorCode.InsufficientScope, description), {
    requiredScopes: [...scopes],
    resourceMetadataUrl: resource.metadataUrl,
  });
}
