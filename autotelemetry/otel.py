"""Where and how events are sent: our variables, then OpenTelemetry's, resolved per signal.

Tool side (the sender, ``flush``, ``status``, ``doctor``); stdlib only, so ``status``
stays cheap. The host side only decides *whether* an endpoint is configured
(:func:`autotelemetry.hook.config.apply_environment`, which also takes an
``OTEL_EXPORTER_OTLP_*ENDPOINT`` as consent); everything else is resolved here,
each value with the source that set it (``status`` shows them).

Precedence for every knob, highest first: the ``AUTOTELEMETRY_*`` variable, the
config files (``endpoint``, ``protocol``), the signal-specific ``OTEL_*`` variable
(``OTEL_EXPORTER_OTLP_LOGS_*``/``_TRACES_*``), the generic ``OTEL_EXPORTER_OTLP_*``,
the default. The OpenTelemetry variables that belong to an endpoint (headers,
certificates, client certificate and key) apply only when the endpoint itself came
from ``OTEL_*``: credentials meant for the OpenTelemetry collector never go to an
endpoint configured for autotelemetry alone. See docs/delivery.md.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from autotelemetry.hook import config, options, values

#: OTLP signals we send: a log record per event, a span per run.
SIGNALS = ("logs", "traces")
#: OTLP/HTTP encodings we can send; ``grpc`` is recognised and reported unsupported.
ENCODINGS = ("http/protobuf", "http/json")
CONTENT_TYPES = {
    "http/protobuf": "application/x-protobuf",
    "http/json": "application/json",
    "json": "application/json",
}
DEFAULT_TIMEOUT = 10.0
#: Resource attributes that describe the run; OTEL_RESOURCE_ATTRIBUTES cannot replace them.
PROTECTED = frozenset({"service.name", "service.version"})
PROTECTED_PREFIX = "telemetry.sdk."

_OTLP = "OTEL_EXPORTER_OTLP_"
#: OTEL_EXPORTER_OTLP_* knobs that belong to an OTEL_* endpoint (credentials, trust).
ENDPOINT_BOUND = ("HEADERS", "CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")

Environ = Any  # os.environ or a plain dict


@dataclass
class Channel:
    """One request stream: a signal (``logs``, ``traces``; ``events`` for the webhook)."""

    signal: str
    url: str
    url_source: str
    encoding: str  # "http/protobuf", "http/json" or "json" (the webhook)
    encoding_source: str
    headers: dict[str, str] = field(default_factory=dict)
    headers_source: str | None = None
    compression: str = "gzip"
    compression_source: str = "default"
    timeout: float = DEFAULT_TIMEOUT
    timeout_source: str = "default"
    certificate: str | None = None
    certificate_source: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    client_source: str | None = None

    @property
    def display(self) -> str:
        """The URL as shown, logged and stored: no userinfo, no query values."""
        from autotelemetry.endpoint import display

        return display(self.url)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.encoding]

    @property
    def cert(self) -> str | tuple[str, str] | None:
        """``requests``' ``cert=``: the client certificate (and key, when separate)."""
        if not self.client_certificate:
            return None
        if self.client_key:
            return (self.client_certificate, self.client_key)
        return self.client_certificate

    def describe(self) -> dict[str, Any]:
        """For ``status``: every value and its source; header values never shown."""
        return {
            "signal": self.signal,
            "url": self.display,
            "url_source": self.url_source,
            "encoding": self.encoding,
            "encoding_source": self.encoding_source,
            "headers": sorted(self.headers),
            "headers_source": self.headers_source,
            "compression": self.compression,
            "compression_source": self.compression_source,
            "timeout": self.timeout,
            "timeout_source": self.timeout_source,
            "certificate": self.certificate,
            "certificate_source": self.certificate_source,
            "client_certificate": self.client_certificate,
            "client_key": self.client_key,
            "client_source": self.client_source,
        }


@dataclass
class Delivery:
    """Everything about sending, resolved: channels, resource, problems, notes."""

    endpoint: str | None
    endpoint_source: str
    protocol: str  # "otlp" or "json"
    channels: list[Channel] = field(default_factory=list)
    signals: tuple[str, ...] = SIGNALS
    signals_source: str = "default"
    resource: dict[str, str] = field(default_factory=dict)
    resource_source: str | None = None
    #: Why a signal cannot be sent at all (``grpc``), by signal.
    blocked: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """For ``status``: the endpoint in its display form (no userinfo, no query values)."""
        from autotelemetry.endpoint import display

        return {
            "endpoint": display(self.endpoint) if self.endpoint else self.endpoint,
            "endpoint_source": self.endpoint_source,
            "protocol": self.protocol,
            "signals": list(self.signals),
            "signals_source": self.signals_source,
            "channels": [c.describe() for c in self.channels],
            "blocked": dict(self.blocked),
            "resource": dict(self.resource),
            "resource_source": self.resource_source,
            "notes": list(self.notes),
        }


# --- parsing -------------------------------------------------------------------


def parse_pairs(text: str, strict: bool = False) -> dict[str, str] | None:
    """``k=v,k2=v2`` (W3C Baggage list syntax, no properties), keys and values
    percent-decoded and trimmed.

    Lenient (headers): malformed members are skipped. ``strict``
    (``OTEL_RESOURCE_ATTRIBUTES``): any error discards the whole value (``None``),
    as the OpenTelemetry resource specification asks.
    """
    pairs: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            if strict:
                return None
            continue
        try:
            if strict and (_PERCENT.search(key) or _PERCENT.search(value)):
                raise ValueError("bad percent-encoding")
            errors = "strict" if strict else "replace"
            pairs[unquote(key, errors=errors)] = unquote(value, errors=errors)
        except (UnicodeDecodeError, ValueError):
            if strict:
                return None
    return pairs


def otlp_url(base: str, signal: str) -> str:
    """The per-signal URL from a base URL: ``/v1/<signal>`` appended to its path.

    The query stays after the path. For our own endpoint (``AUTOTELEMETRY_ENDPOINT``,
    config files) a URL that already ends in ``/v1/logs`` or ``/v1/traces`` names the
    base before that suffix, so one setting serves both signals (as autotelemetry
    always accepted ``.../v1/logs``). One rule: :func:`autotelemetry.endpoint.signal_url`.
    """
    from autotelemetry.endpoint import signal_url

    return signal_url(base, signal)


def _valid_url(value: str) -> bool:
    return value.startswith(("http://", "https://")) and len(value) > len("https://")


# --- resolution ------------------------------------------------------------------


class _Resolver:
    def __init__(self, environ: Environ, delivery: Delivery) -> None:
        self.environ = environ
        self.delivery = delivery

    def get(self, name: str) -> str | None:
        value = self.environ.get(name)
        return value if value is not None and value.strip() != "" else None

    def ours(self, name: str) -> tuple[Any, str] | None:
        """(value, variable) of one of our options when its variable is set and valid;
        an invalid one is ignored here (``status`` reports it, from the option table)."""
        option = options.BY_NAME[name]
        variable = str(option[options.VARIABLE])
        raw = self.environ.get(variable)
        if raw is None:
            return None
        parsed, why = values.coerce(name, raw)
        if why is not None or parsed is None:
            return None
        return parsed, variable

    def otel(self, signal: str, knob: str) -> tuple[str, str] | None:
        """(value, variable) of the signal-specific, else the generic OTEL variable."""
        for name in (f"{_OTLP}{signal.upper()}_{knob}", f"{_OTLP}{knob}"):
            value = self.get(name)
            if value is not None:
                return value.strip(), name
        return None

    def problem(self, text: str) -> None:
        if text not in self.delivery.problems:
            self.delivery.problems.append(text)

    def encoding(self, signal: str, protocol: str, source: str) -> tuple[str, str] | None:
        """(encoding, source); ``None`` when the configured protocol cannot be sent."""
        if protocol in ENCODINGS:
            return protocol, source
        found = self.otel(signal, "PROTOCOL")
        if found is not None:
            value, name = found[0].lower(), found[1]
            if value in ENCODINGS:
                return value, name
            if value == "grpc":
                why = (
                    f"{name}=grpc is not supported: autotelemetry sends OTLP over HTTP only "
                    f"(http/protobuf or http/json); no {signal} are sent until it is changed"
                )
                self.delivery.blocked[signal] = why
                self.problem(why)
                return None
            self.problem(f"{name}: unknown protocol {found[0]!r} ignored (http/protobuf used)")
        return "http/protobuf", "default"

    def channel(self, signal: str, url: str, url_source: str, encoding: tuple[str, str]) -> Channel:
        from autotelemetry.endpoint import split_credentials

        # Userinfo in the URL becomes an Authorization header: never part of a URL
        # that is requested, logged, stored or shown.
        bare, authorization = split_credentials(url)
        ch = Channel(signal, bare, url_source, encoding[0], encoding[1])
        from_otel = url_source.startswith("OTEL_")
        env = self.environ
        # Headers: ours (even empty) win; OpenTelemetry's only for an OTEL_* endpoint.
        if "AUTOTELEMETRY_HEADERS" in env:
            ch.headers = parse_pairs(env["AUTOTELEMETRY_HEADERS"]) or {}
            ch.headers_source = "AUTOTELEMETRY_HEADERS"
        elif from_otel:
            found = self.otel(signal, "HEADERS")
            if found is not None:
                ch.headers, ch.headers_source = parse_pairs(found[0]) or {}, found[1]
        if authorization is not None and not any(k.lower() == "authorization" for k in ch.headers):
            ch.headers = {"Authorization": authorization, **ch.headers}  # explicit one wins
        # Compression.
        found_ours = self.ours("compression")
        if found_ours is not None:
            ch.compression, ch.compression_source = found_ours
        else:
            for value, name in self._otel_candidates(signal, "COMPRESSION"):
                if value.lower() in ("gzip", "none"):
                    ch.compression, ch.compression_source = value.lower(), name
                    break
                self.problem(f"{name}: must be gzip or none, ignored")
        # Timeout: ours in seconds, OpenTelemetry's in milliseconds.
        found_ours = self.ours("timeout")
        if found_ours is not None:
            ch.timeout, ch.timeout_source = float(found_ours[0]), found_ours[1]
        else:
            for value, name in self._otel_candidates(signal, "TIMEOUT"):
                try:
                    number = float(value)
                except ValueError:
                    number = 0.0
                if 0 < number < float("inf"):
                    ch.timeout, ch.timeout_source = number / 1000.0, name
                    break
                self.problem(f"{name}: must be a positive number of milliseconds, ignored")
        # Trust and client identity: ours, else OpenTelemetry's for an OTEL_* endpoint.
        found_ours = self.ours("ca_bundle")
        if found_ours is not None:
            ch.certificate, ch.certificate_source = found_ours
        elif from_otel:
            found = self.otel(signal, "CERTIFICATE")
            if found is not None:
                ch.certificate, ch.certificate_source = found
        cert_ours, key_ours = self.ours("client_certificate"), self.ours("client_key")
        cert = cert_ours[0] if cert_ours else None
        key = key_ours[0] if key_ours else None
        source = "AUTOTELEMETRY_CLIENT_CERTIFICATE" if cert_ours else "AUTOTELEMETRY_CLIENT_KEY"
        if cert is None and key is None and from_otel:
            found_cert = self.otel(signal, "CLIENT_CERTIFICATE")
            found_key = self.otel(signal, "CLIENT_KEY")
            cert = found_cert[0] if found_cert else None
            key = found_key[0] if found_key else None
            source = (found_cert or found_key or ("", ""))[1]
        if key and not cert:
            self.problem(f"{source}: a client key without a client certificate, ignored")
        elif cert:
            ch.client_certificate, ch.client_key, ch.client_source = cert, key, source
        return ch

    def _otel_candidates(self, signal: str, knob: str) -> list[tuple[str, str]]:
        found = []
        for name in (f"{_OTLP}{signal.upper()}_{knob}", f"{_OTLP}{knob}"):
            value = self.get(name)
            if value is not None:
                found.append((value.strip(), name))
        return found

    def signals(self) -> None:
        d = self.delivery
        found = self.ours("signals")
        if found is not None:
            d.signals, d.signals_source = tuple(str(found[0]).split(",")), found[1]
            return
        off = []
        for signal in SIGNALS:
            name = f"OTEL_{signal.upper()}_EXPORTER"
            value = self.get(name)
            if value is not None and value.strip().lower() == "none":
                off.append(name)
        if off:
            d.signals = tuple(s for s in SIGNALS if f"OTEL_{s.upper()}_EXPORTER" not in off)
            d.signals_source = ", ".join(f"{name}=none" for name in off)

    def resource(self) -> None:
        d = self.delivery
        raw = self.get("OTEL_RESOURCE_ATTRIBUTES")
        if raw is not None:
            pairs = parse_pairs(raw, strict=True)
            if pairs is None:
                self.problem(
                    "OTEL_RESOURCE_ATTRIBUTES: malformed (key=value pairs, comma-separated, "
                    "percent-encoded); the whole value is ignored, as the OpenTelemetry "
                    "specification asks"
                )
            else:
                kept = {
                    k: v
                    for k, v in pairs.items()
                    if k not in PROTECTED and not k.startswith(PROTECTED_PREFIX)
                }
                ignored = sorted(set(pairs) - set(kept))
                if ignored:
                    d.notes.append(
                        "OTEL_RESOURCE_ATTRIBUTES: "
                        + ", ".join(ignored)
                        + " ignored (set by autotelemetry from each event)"
                    )
                d.resource, d.resource_source = kept, "OTEL_RESOURCE_ATTRIBUTES"
        if self.get("OTEL_SERVICE_NAME") is not None:
            d.notes.append(
                "OTEL_SERVICE_NAME is ignored: service.name is the name of each CLI "
                "(one environment runs many; use service.namespace in "
                "OTEL_RESOURCE_ATTRIBUTES to group them)"
            )


def resolve(settings: config.Settings | None = None, environ: Environ = os.environ) -> Delivery:
    """The delivery configuration of this environment (never raises for bad values:
    each is ignored and reported in ``problems``)."""
    if settings is None:
        settings = config.load_settings(environ)
    endpoint = settings.values["endpoint"]
    source = settings.sources["endpoint"]
    protocol = str(settings.values["protocol"] or "otlp")
    protocol_source = settings.sources["protocol"]
    d = Delivery(
        endpoint=str(endpoint) if endpoint else None,
        endpoint_source=source,
        protocol="json" if protocol == "json" else "otlp",
    )
    r = _Resolver(environ, d)
    r.resource()
    disabled = str(environ.get("OTEL_SDK_DISABLED", "")).strip().lower() == "true"
    if disabled and any(r.get(name) for name in options.OTEL_ENDPOINTS):
        d.notes.append(
            "OTEL_SDK_DISABLED=true: the OTEL_EXPORTER_OTLP_* endpoints are ignored "
            "(recording stays on; AUTOTELEMETRY_ENDPOINT still sends)"
        )
    elif (
        source not in ("default",)
        and not source.startswith("OTEL_")
        and any(r.get(name) for name in options.OTEL_ENDPOINTS)
    ):
        d.notes.append(f"the OTEL_EXPORTER_OTLP_* endpoints are ignored: {source} wins")
    if not d.endpoint:
        return d
    if d.protocol == "json":
        ch = r.channel("events", d.endpoint, source, ("json", protocol_source))
        d.channels.append(ch)
        d.signals, d.signals_source = ("events",), protocol_source
        return d
    r.signals()
    from_otel = source.startswith("OTEL_")
    if not from_otel:
        bound = sorted(
            f"{_OTLP}{signal}{knob}"
            for signal in ("", "LOGS_", "TRACES_")
            for knob in ENDPOINT_BOUND
            if r.get(f"{_OTLP}{signal}{knob}") is not None
        )
        if bound:
            d.notes.append(
                ", ".join(bound) + f" not used: they belong to an OTEL_* endpoint, and {source} "
                "set this one (use AUTOTELEMETRY_HEADERS, AUTOTELEMETRY_CA_BUNDLE, "
                "AUTOTELEMETRY_CLIENT_CERTIFICATE/_KEY)"
            )
    for signal in d.signals:
        if from_otel:
            specific = f"{_OTLP}{signal.upper()}_ENDPOINT"
            value = r.get(specific)
            if value is not None and _valid_url(value.strip()):
                url, url_source = value.strip(), specific
            else:
                if value is not None:
                    r.problem(f"{specific}: must be an http:// or https:// URL, ignored")
                generic = r.get(f"{_OTLP}ENDPOINT")
                if generic is None or not _valid_url(generic.strip()):
                    d.notes.append(f"no {signal} endpoint: {signal} are not sent")
                    continue
                url, url_source = otlp_url(generic.strip(), signal), f"{_OTLP}ENDPOINT"
        else:
            url, url_source = otlp_url(d.endpoint, signal), source
        encoding = r.encoding(signal, protocol, protocol_source)
        if encoding is None:
            continue
        d.channels.append(r.channel(signal, url, url_source, encoding))
    return d


__all__ = ["SIGNALS", "Channel", "Delivery", "otlp_url", "parse_pairs", "resolve"]
