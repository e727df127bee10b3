"""Endpoint URLs and headers: credentials split off, a display form without secrets.

The one place that takes an endpoint URL apart (tool side: the sender, `flush`,
`status`, `doctor`), so that what a URL carries as a secret never reaches the disk
(the store's delivery ledger), a log, the terminal or debug output:

* userinfo (``https://user:pass@host/``) is removed from the URL that is requested and
  sent as an ``Authorization: Basic`` header instead (a header set explicitly wins);
* the query string (``?api_key=...``) is sent where it belongs, but only ever shown as
  ``?…``: the display form is ``scheme://host:port/path?…`` (:func:`display`);
* a signal path (``/v1/logs``) is appended to the URL's path, before its query
  (:func:`signal_url`).

Header values must be Latin-1 text without line breaks (what HTTP/1.1 can carry):
:func:`header_problem` says which header is not, without ever echoing a value.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

#: What the display form shows in place of a query string.
QUERY_SHOWN = "?…"
#: Characters an HTTP header name (a token) cannot hold, besides controls and spaces.
_SEPARATORS = frozenset('()<>@,;:\\"/[]?={}')


@dataclass(frozen=True)
class Target:
    """An endpoint ready to use: the URL to request, and its secret-free display form."""

    #: The URL requested: userinfo removed, path and query kept.
    url: str
    #: ``Basic …`` from the URL's userinfo, or ``None``.
    authorization: str | None
    #: ``scheme://host:port/path?…``: what logs, the store and commands show.
    display: str


def split_credentials(url: str) -> tuple[str, str | None]:
    """(``url`` without its userinfo, the ``Authorization`` value the userinfo stands for)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return urlunsplit(parts._replace(netloc=hostport)), "Basic " + token


def display(url: str) -> str:
    """``scheme://host:port/path?…``: no userinfo, no query values, no fragment.

    Anything that is not an http(s) URL is shown as a placeholder, never as given
    (it may be a secret pasted in the wrong place).
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "(not an http(s) URL)"
    hostport = parts.netloc.rpartition("@")[2]
    if parts.scheme not in ("http", "https") or not hostport:
        return "(not an http(s) URL)"
    return f"{parts.scheme}://{hostport}{parts.path}" + (QUERY_SHOWN if parts.query else "")


def signal_url(url: str, signal: str = "logs") -> str:
    """``/v1/<signal>`` appended to the path of a base URL, its query kept after it.

    A path that already ends in ``/v1/logs`` or ``/v1/traces`` names the base before
    that suffix (``https://h/otlp/v1/logs?k=v`` → ``https://h/otlp/v1/<signal>?k=v``).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.rstrip("/") + "/v1/" + signal
    path = parts.path.rstrip("/")
    for suffix in ("/v1/logs", "/v1/traces"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urlunsplit(parts._replace(path=path + "/v1/" + signal, fragment=""))


def target(url: str, signal: str | None = None) -> Target:
    """The endpoint ``url`` as requested (with ``signal``'s path when given) and shown."""
    bare, authorization = split_credentials(url.strip())
    if signal is not None:
        bare = signal_url(bare, signal)
    return Target(bare, authorization, display(bare))


def header_problem(headers: dict[str, str], source: str = "AUTOTELEMETRY_HEADERS") -> str | None:
    """Why ``headers`` cannot be sent, or ``None``: names must be HTTP tokens, values
    Latin-1 without line breaks. Names the header, never shows its value."""
    for name, value in headers.items():
        if not name or not all(33 <= ord(ch) < 127 and ch not in _SEPARATORS for ch in name):
            return f"{source}: header name {name!r} is not a valid HTTP header name"
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            return (
                f"{source}: the value of header {name!r} cannot be sent: "
                "HTTP header values are Latin-1 text"
            )
        if any(ch in value for ch in "\r\n\0"):
            return f"{source}: the value of header {name!r} contains a line break"
    return None


def scrub(text: str, url: str | None) -> str:
    """``text`` with every secret part of ``url`` (userinfo, query, the whole URL) replaced."""
    if not url:
        return text
    try:
        parts = urlsplit(url)
    except ValueError:
        return text.replace(url, "(endpoint)")
    shown = display(url)
    for secret in sorted(
        {url, url.strip(), parts.netloc.rpartition("@")[0], parts.query, parts.fragment}, key=len
    )[::-1]:
        if len(secret) >= 3:
            text = text.replace(secret, shown if secret.startswith(("http:", "https:")) else "…")
    return text


__all__ = [
    "QUERY_SHOWN",
    "Target",
    "display",
    "header_problem",
    "scrub",
    "signal_url",
    "split_credentials",
    "target",
]
