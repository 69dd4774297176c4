#!/usr/bin/env python3
"""Print a Microsoft 365 access token for IMAP, app-only (OAuth 2.0 client credentials).

For triage's ``imap.oauth2_token_command`` when a service reads a (shared) mailbox 24/7
with no person's refresh token behind it: the app registration holds the application
permission IMAP.AccessAsApp, an admin consented, and Exchange Online knows the app's
service principal and gave it access to the mailbox (docs/oauth2.md walks through it).

    m365_token.py --tenant example.onmicrosoft.com --client-id 00000000-…

prints one line, the access token, and nothing else on stdout. The client secret is read
from the environment variable TRIAGE_M365_CLIENT_SECRET (or --client-secret-env NAME),
or from a file (--client-secret-file PATH), never from the command line, where any user
could read it in the process list. No token is cached: triage runs the command when it
starts and again only after the server refused the last token.

Exit status: 0 the token was printed; 1 the token endpoint could not be reached or
refused (its error code and description on stderr, e.g. AADSTS7000215 for a wrong
secret); 2 bad usage (a missing secret, a malformed tenant). Only the Python standard
library is used, so any python3 runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

AUTHORITY = "https://login.microsoftonline.com"
IMAP_APP_SCOPE = "https://outlook.office365.com/.default"
"""The scope of an app-only token for IMAP and POP: the application permissions the
admin granted (IMAP.AccessAsApp), asked for as a whole."""
SECRET_ENV = "TRIAGE_M365_CLIENT_SECRET"
TIMEOUT_SECONDS = 30.0

_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
"""A tenant ID (a GUID) or one of the tenant's domain names: nothing that could change the URL."""


class TokenError(Exception):
    """The token endpoint could not be reached, or refused: exit status 1."""


class UsageError(Exception):
    """The command line or the secret is unusable: exit status 2."""


def token_request(tenant: str, client_id: str, client_secret: str, *, scope: str = IMAP_APP_SCOPE,
                  authority: str = AUTHORITY) -> urllib.request.Request:
    """The POST to the tenant's v2.0 token endpoint that asks for an app-only token."""
    if not _TENANT.fullmatch(tenant):
        raise UsageError(f"--tenant must be a tenant ID or domain, not {tenant!r}")
    if not client_id.strip():
        raise UsageError("--client-id is empty")
    if not client_secret:
        raise UsageError("the client secret is empty")
    body = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_id": client_id.strip(),
        "client_secret": client_secret,
        "scope": scope,
    }).encode("ascii")
    return urllib.request.Request(
        f"{authority.rstrip('/')}/{tenant}/oauth2/v2.0/token",
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )


def access_token(response_body: bytes) -> str:
    """The access token in the endpoint's JSON answer; TokenError with the endpoint's own
    words (error code and the first line of its description) when it holds none."""
    try:
        answer = json.loads(response_body)
    except ValueError:
        raise TokenError("the token endpoint did not answer with JSON") from None
    if not isinstance(answer, dict):
        raise TokenError("the token endpoint's answer is not a JSON object")
    token = answer.get("access_token")
    if isinstance(token, str) and token.strip():
        return token.strip()
    error = str(answer.get("error") or "no access_token in the answer")
    description = str(answer.get("error_description") or "").strip().splitlines()
    raise TokenError(f"{error}: {description[0]}" if description else error)


def read_secret(env_name: str, file_path: str | None, environ: dict[str, str] | None = None) -> str:
    """The client secret from ``file_path`` (first line) when given, else from the
    environment variable ``env_name``."""
    if file_path:
        try:
            with open(file_path, encoding="utf-8") as handle:
                secret = handle.readline().strip()
        except OSError as exc:
            raise UsageError(f"cannot read the client secret from {file_path}: {exc.strerror}") from None
        if not secret:
            raise UsageError(f"{file_path} is empty")
        return secret
    environ = os.environ if environ is None else environ
    secret = environ.get(env_name, "").strip()
    if not secret:
        raise UsageError(f"environment variable {env_name} (the client secret) is not set or empty")
    return secret


def fetch_token(request: urllib.request.Request, *, timeout: float = TIMEOUT_SECONDS,
                urlopen: Callable = urllib.request.urlopen) -> str:
    """Send ``request`` and return the access token."""
    try:
        with urlopen(request, timeout=timeout) as response:
            return access_token(response.read())
    except urllib.error.HTTPError as exc:  # a refusal (400, 401) carries the endpoint's JSON error
        try:
            return access_token(exc.read())
        except TokenError as refusal:
            raise TokenError(f"HTTP {exc.code}: {refusal}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TokenError(f"cannot reach {request.host}: {reason}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="m365_token.py",
        description="Print an app-only Microsoft 365 access token for IMAP (client credentials).",
        epilog="example: TRIAGE_M365_CLIENT_SECRET=… m365_token.py --tenant example.onmicrosoft.com "
               "--client-id 00000000-0000-0000-0000-000000000000")
    parser.add_argument("--tenant", required=True, help="the directory (tenant) ID, or a domain of the tenant")
    parser.add_argument("--client-id", required=True, help="the application (client) ID of the app registration")
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--client-secret-env", default=SECRET_ENV, metavar="NAME",
                        help=f"environment variable holding the client secret (default: {SECRET_ENV})")
    secret.add_argument("--client-secret-file", metavar="PATH", help="file whose first line is the client secret")
    parser.add_argument("--scope", default=IMAP_APP_SCOPE, help=f"(default: {IMAP_APP_SCOPE})")
    parser.add_argument("--authority", default=AUTHORITY,
                        help=f"the sign-in host; another one only for a national cloud (default: {AUTHORITY})")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS, help="seconds to wait for the endpoint")
    return parser


def main(argv: list[str] | None = None, *, environ: dict[str, str] | None = None,
         urlopen: Callable = urllib.request.urlopen) -> int:
    """Print the token; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        secret = read_secret(args.client_secret_env, args.client_secret_file, environ)
        request = token_request(args.tenant, args.client_id, secret, scope=args.scope, authority=args.authority)
        token = fetch_token(request, timeout=args.timeout, urlopen=urlopen)
    except UsageError as exc:
        print(f"m365_token.py: {exc}", file=sys.stderr)
        return 2
    except TokenError as exc:
        print(f"m365_token.py: {exc}", file=sys.stderr)
        return 1
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
