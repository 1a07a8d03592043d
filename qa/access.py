"""Who may reach a server of this project: loopback freely, any other address only with a password.

One rule for every server here (the page, app.py; the question API, `python -m qa serve`): bind to
127.0.0.1 by default; another --host needs QA_AUTH=user:password, else the server refuses to start.
"""
from __future__ import annotations

import base64
import binascii
import hmac

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """QA_AUTH ("user:password") as (user, password); None when unset; ValueError when malformed."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("QA_AUTH must look like user:password")
    return user, password


def refuse_bind(host: str, auth: tuple[str, str] | None) -> str | None:
    """Why a server must not start on `host` with `auth` (a message for the person), or None."""
    if host not in LOOPBACK and auth is None:
        return (
            f"refusing to serve on {host} without a password. Set QA_AUTH=user:password "
            "(or serve on 127.0.0.1, the default)."
        )
    return None


def server_auth(host: str, value: str | None) -> tuple[str, str] | None:
    """The password a server on `host` requires, from QA_AUTH's `value` (None: none); ValueError,
    with the message for the person, when QA_AUTH is malformed or `host` needs one and none is set."""
    auth = parse_auth(value)
    why = refuse_bind(host, auth)
    if why:
        raise ValueError(why)
    return auth


def basic_auth_ok(header: str | None, auth: tuple[str, str] | None) -> bool:
    """Whether an HTTP Authorization header carries `auth` (Basic); always True when auth is None."""
    if auth is None:
        return True
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    ok_user = hmac.compare_digest(user.encode(), auth[0].encode())
    ok_pass = hmac.compare_digest(password.encode(), auth[1].encode())
    return bool(sep) and ok_user and ok_pass
