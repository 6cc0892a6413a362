#!/usr/bin/python3
"""Mints a JWT access token for DEVELOPMENT AND TESTS ONLY.

This is not an authorization server: it signs whatever claims it is told to,
for whoever runs it, with no login, consent or client check. Use it to try
the PDP's token verification locally with the key tools/gen_dev_certs.sh
makes (token-issuer.key, trusted by that script's tokens.yaml). Never give it
a production issuer's key.

  tools/mint_dev_token.py --key certs/token-issuer.key --kid dev-1 \\
      --issuer https://login.acme.example --sub alice@acme.example \\
      --client acme-copilot --scope "hr:salary:read" \\
      --aud https://hr.mcp.acme.example --amr pwd,otp > alice.jwt

Prints one compact JWS: header {"alg": "EdDSA", "kid": KID, "typ":
"at+jwt"}, claims iss, sub, client_id, scope, aud, iat (now), exp (now +
--lifetime), jti, and when given amr, act {"sub": AGENT} (RFC 8693) and cnf
{"x5t#S256": ...} (RFC 8705, the SHA-256 of the certificate's DER). --iat
moves the issue time (seconds, negative for the past) to make expired or
not-yet-valid tokens.

Needs only python3 and the openssl command (`openssl pkeyutl -sign -rawin`
makes the Ed25519 signature; OpenSSL 3). The key must be an Ed25519 private
key in PEM. Exit status: 0, 1 when openssl fails, 2 for a usage error.
"""

import argparse
import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import uuid


def b64url(data):
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_part(value):
    return b64url(json.dumps(value, separators=(",", ":"),
                             sort_keys=False).encode("utf-8"))


def certificate_thumbprint(pem_path):
    """x5t#S256 of the first certificate in a PEM file: base64url(SHA-256(DER))."""
    with open(pem_path, "r", encoding="ascii") as f:
        pem = f.read()
    begin = "-----BEGIN CERTIFICATE-----"
    end = "-----END CERTIFICATE-----"
    start = pem.find(begin)
    stop = pem.find(end, start)
    if start < 0 or stop < 0:
        raise ValueError("%s holds no PEM certificate" % pem_path)
    der = ssl.PEM_cert_to_DER_cert(pem[start:stop + len(end)] + "\n")
    return b64url(hashlib.sha256(der).digest())


def sign_ed25519(key_path, data):
    """The raw 64-byte Ed25519 signature of `data` by the key at `key_path`."""
    with tempfile.NamedTemporaryFile(prefix="mint_dev_token.") as message:
        message.write(data)
        message.flush()
        result = subprocess.run(
            ["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key_path,
             "-in", message.name],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if result.returncode != 0:
        raise RuntimeError("openssl pkeyutl -sign failed: %s" %
                           result.stderr.decode("utf-8", "replace").strip())
    if len(result.stdout) != 64:
        raise RuntimeError(
            "openssl made a %d-byte signature, not a 64-byte Ed25519 one: "
            "is %s an Ed25519 key?" % (len(result.stdout), key_path))
    return result.stdout


def mint(key_path, kid, claims):
    """The compact JWS of `claims` signed with EdDSA by the key at key_path."""
    header = {"alg": "EdDSA", "kid": kid, "typ": "at+jwt"}
    signing_input = (_json_part(header) + "." + _json_part(claims)).encode(
        "ascii")
    signature = sign_ed25519(key_path, signing_input)
    return signing_input.decode("ascii") + "." + b64url(signature)


def build_claims(args, now):
    iat = now + args.iat
    claims = {
        "iss": args.issuer,
        "sub": args.sub,
        "client_id": args.client,
        "scope": args.scope,
        "aud": args.aud[0] if len(args.aud) == 1 else args.aud,
        "iat": iat,
        "exp": iat + args.lifetime,
        "jti": str(uuid.uuid4()),
    }
    if args.amr:
        claims["amr"] = [m.strip() for m in args.amr.split(",") if m.strip()]
    if args.act:
        claims["act"] = {"sub": args.act}
    if args.cnf_x5t_cert:
        claims["cnf"] = {"x5t#S256": certificate_thumbprint(args.cnf_x5t_cert)}
    return claims


def build_parser():
    parser = argparse.ArgumentParser(
        prog="mint_dev_token.py",
        description="Mints an EdDSA-signed JWT access token. DEVELOPMENT "
        "AND TESTS ONLY: it signs whatever it is told to.")
    parser.add_argument("--key", required=True,
                        help="Ed25519 private key (PEM), e.g. "
                        "certs/token-issuer.key")
    parser.add_argument("--kid", default="dev-1",
                        help="key id in the header (default %(default)s)")
    parser.add_argument("--issuer", required=True, help="iss")
    parser.add_argument("--sub", required=True, help="sub: the user id")
    parser.add_argument("--client", required=True, help="client_id")
    parser.add_argument("--scope", default="",
                        help='granted scopes, space-separated: "a b"')
    parser.add_argument("--aud", required=True, action="append",
                        help="audience, the MCP server's resource URI; "
                        "repeat for several")
    parser.add_argument("--act", help="act.sub: the acting agent's id")
    parser.add_argument("--amr", help="authentication methods, e.g. pwd,otp")
    parser.add_argument("--lifetime", type=int, default=600,
                        help="exp - iat in seconds (default %(default)s)")
    parser.add_argument("--iat", type=int, default=0,
                        help="seconds to add to now for iat (negative: in "
                        "the past; default 0)")
    parser.add_argument("--cnf-x5t-cert", metavar="PEM_FILE",
                        help="bind the token to this client certificate "
                        "(cnf.x5t#S256)")
    return parser


def main(argv=None):
    # Under `bazel run`, resolve paths from where the command was typed.
    if os.environ.get("BUILD_WORKING_DIRECTORY"):
        os.chdir(os.environ["BUILD_WORKING_DIRECTORY"])
    args = build_parser().parse_args(argv)
    if args.lifetime <= 0:
        print("mint_dev_token: --lifetime must be positive", file=sys.stderr)
        return 2
    try:
        claims = build_claims(args, int(time.time()))
        print(mint(args.key, args.kid, claims))
    except (OSError, ValueError) as error:
        print("mint_dev_token: %s" % error, file=sys.stderr)
        return 2
    except RuntimeError as error:
        print("mint_dev_token: %s" % error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
