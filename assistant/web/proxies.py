"""Which reverse proxies the server believes about the client's address and scheme.

uvicorn (which Gradio starts) takes ``X-Forwarded-For`` and ``X-Forwarded-Proto`` only from the
addresses in ``FORWARDED_ALLOW_IPS``, and otherwise from 127.0.0.1. ``align serve`` sets that variable
from the ``trusted_proxies`` setting before the server starts, so by default nobody is believed: the
client address (the login limiter's, ``/healthz``'s) is the connection's own, and a caller cannot
claim to be another by adding a header.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping, Sequence

__all__ = ["ENV", "trust_proxies"]

ENV = "FORWARDED_ALLOW_IPS"


def trust_proxies(proxies: Sequence[str], environ: MutableMapping[str, str] | None = None) -> str | None:
    """Set ``FORWARDED_ALLOW_IPS`` to ``proxies`` (empty: trust nobody). Returns a warning for the
    server's output when the variable was set to something else before (it is not read any more)."""
    env = os.environ if environ is None else environ
    value = ",".join(p.strip() for p in proxies)
    before = env.get(ENV)
    env[ENV] = value
    if before is not None and before != value:
        return (
            f"{ENV}={before!r} is replaced by the trusted_proxies setting ({value or 'none'}); "
            "list your reverse proxy's address there (ALIGN_TRUSTED_PROXIES)"
        )
    return None
