"""A requests session that reads the environment once, not on every call.

With ``trust_env`` (the default) requests looks at the environment on *every* request: it walks every
environment variable twice for ``*_proxy`` settings (``getproxies`` and ``proxy_bypass``), stats
``~/.netrc`` for credentials and reads ``REQUESTS_CA_BUNDLE``. Measured against the sandbox on a 2-core
machine that was ~1.8 ms per call on one thread and ~5.6 ms with three threads sending at once (the walk
holds the GIL), on calls of 50 ms: a tenth of a load's time. The answer only changes when the environment
does, so it is decided once, when the client is built: with no proxy and no netrc file the session stops
asking (``trust_env = False``), and a CA bundle named in the environment is pinned as the session's
``verify``, as requests would have applied it to every call (no client passes ``verify`` per call); with a
proxy or a netrc file the session keeps asking, as before (``no_proxy`` matching is per URL).
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import requests

# What requests reads besides proxies (requests.sessions.merge_environment_settings, utils.get_netrc_auth).
_CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
_NETRC_FILES = ("~/.netrc", "~/_netrc")


def needs_per_call_environment() -> bool:
    """True when the environment has something requests decides per URL: a proxy (of any scheme, or the
    platform's proxy settings) or a netrc file of credentials."""
    if urllib.request.getproxies():
        return True
    netrc = os.environ.get("NETRC")
    candidates = [netrc] if netrc else list(_NETRC_FILES)
    return any(Path(candidate).expanduser().exists() for candidate in candidates)


def ca_bundle() -> str | None:
    """The CA bundle the environment names, in requests' order of precedence."""
    return next((os.environ[name] for name in _CA_BUNDLE_VARIABLES if os.environ.get(name)), None)


def new_session() -> requests.Session:
    """A session that consults the environment per call only when the environment has something for it."""
    session = requests.Session()
    if not needs_per_call_environment():
        session.trust_env = False
        bundle = ca_bundle()
        if bundle:
            session.verify = bundle
    return session
