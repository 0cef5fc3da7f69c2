"""TLS for `https://` listeners: the server's SSLContext, built from the settings.

Ground floor: the standard library's ssl only. Each worker builds its own
context as it starts (after the fork, like everything else that holds state),
so a reload's new workers read renewed certificate files while the old ones
finish their connections. The master builds one too, before binding, only to
refuse a bad certificate or key at start, naming the file.
"""

from __future__ import annotations

import ssl
from typing import Any


def uses_tls(cfg: Any) -> bool:
    """Does any listener of ``cfg`` serve https://?"""
    return any(address.protocol == "https" for address in cfg.bind)


class TLSError(ValueError):
    """A certificate, key or CA file that cannot be used; the text names it."""


def server_context(cfg: Any) -> ssl.SSLContext:
    """The context for ``cfg``'s certfile/keyfile/ca_certs/verify_client/
    tls_min_version/ciphers; TLSError names the setting and the file."""
    if not cfg.certfile:
        raise TLSError("setting 'certfile': an https:// listener needs certfile (and keyfile, unless "
                       "certfile holds the key too)")  # fmt: skip
    if cfg.verify_client and not cfg.ca_certs:
        raise TLSError("setting 'ca_certs': verify_client needs the CA certificates that client "
                       "certificates must be signed by")  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = (
        ssl.TLSVersion.TLSv1_3 if cfg.tls_min_version == "1.3" else ssl.TLSVersion.TLSv1_2
    )
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.set_alpn_protocols(["http/1.1"])
    if cfg.ciphers:
        try:
            context.set_ciphers(cfg.ciphers)
        except ssl.SSLError as exc:
            raise TLSError(
                f"setting 'ciphers': OpenSSL accepts no cipher in {cfg.ciphers!r}: {exc}"
            ) from None
    try:
        context.load_cert_chain(cfg.certfile, cfg.keyfile or None)
    except FileNotFoundError as exc:
        raise TLSError(
            f"setting 'certfile'/'keyfile': {exc.filename or cfg.certfile}: no such file"
        ) from None
    except PermissionError as exc:
        raise TLSError(
            f"setting 'certfile'/'keyfile': {exc.filename or cfg.certfile}: permission denied"
        ) from None
    except ssl.SSLError as exc:
        raise TLSError(_explain(exc, cfg)) from None
    if cfg.ca_certs:
        try:
            context.load_verify_locations(cafile=cfg.ca_certs)
        except (OSError, ssl.SSLError) as exc:
            raise TLSError(f"setting 'ca_certs': cannot load {cfg.ca_certs}: {exc}") from None
    if cfg.verify_client:
        context.verify_mode = ssl.CERT_REQUIRED
    elif cfg.ca_certs:
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def _explain(exc: ssl.SSLError, cfg: Any) -> str:
    reason = (exc.reason or str(exc)).lower()
    key = cfg.keyfile or cfg.certfile
    if "key values mismatch" in reason or "key_values_mismatch" in reason:
        return f"setting 'keyfile': {key} is not the key of the certificate in {cfg.certfile}"
    if "pem" in reason or "no start line" in reason or "bad base64" in reason:
        files = f"{cfg.certfile} or {cfg.keyfile}" if cfg.keyfile else cfg.certfile
        return f"setting 'certfile'/'keyfile': {files} is not a PEM certificate and key ({exc.reason})"
    return f"setting 'certfile'/'keyfile': cannot use {cfg.certfile} ({exc.reason or exc})"
