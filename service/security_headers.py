"""Security headers on every response, and a strict Content-Security-Policy on every HTML page.

No response is stored by a browser or a proxy unless it says it may be (`Cache-Control:
no-store` where it names no caching of its own): API answers and downloads carry masked persons,
visits and amounts, and an API key travels in X-API-Key, which a shared cache, unlike one that
sees `Authorization`, does not know to keep private. The documentation's bundled assets and the
console's stylesheet say how they may be cached.

A page that states its own policy keeps it (the console allows its stylesheet and its forms; the
slip allows its one inline style by hash; /docs and /redoc their bundled scripts, routers/docs.py).
Any other HTML gets the strictest policy: nothing loads, nothing runs, nothing frames it
(ADR 0016).
"""

from __future__ import annotations

import base64
import hashlib

STRICT_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

_CONTENT_TYPE = b"content-type"
_CSP = b"content-security-policy"
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")
# A year; sent only in production, where the service is reached over HTTPS (its console cookie is
# Secure there): a browser that once saw it never sends a key or a console form over plain HTTP.
HSTS = (b"strict-transport-security", b"max-age=31536000")
_HTML_DEFAULTS = (
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


def style_hash(css: str) -> str:
    """The CSP source that allows exactly this inline <style> content."""
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def secure(
    headers: list[tuple[bytes, bytes]], *, https_only: bool = False
) -> list[tuple[bytes, bytes]]:
    """The response's headers with the security headers it lacks added; `https_only`: HSTS."""
    names = {name.lower() for name, _ in headers}
    added = [] if _NOSNIFF[0] in names else [_NOSNIFF]
    if https_only and HSTS[0] not in names:
        added.append(HSTS)
    if _NO_STORE[0] not in names:
        added.append(_NO_STORE)
    content_type = next((v for n, v in headers if n.lower() == _CONTENT_TYPE), b"")
    if content_type.startswith(b"text/html"):
        if _CSP not in names:
            added.append((_CSP, STRICT_CSP.encode()))
        added += [h for h in _HTML_DEFAULTS if h[0] not in names]
    return [*headers, *added] if added else headers
