"""OpenTelemetry's standard variables: each alone, and against the AUTOTELEMETRY_* ones.

What each variable decides is read back from the real `autotelemetry status --json`
(every value with its source), and the ones that change the wire are checked on a
real receiver on 127.0.0.1: URL paths, headers, encoding, compression, timeout,
TLS trust and client certificates, resource attributes. An endpoint from OTEL_* is
consent like any other: the instrumented CLI starts the detached sender and shows
the one-time notice.
"""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import Runner, sender_environs
from receiver import Receiver, https_sink
from test_config import _run_with_pty_stderr
from test_delivery import FAST, record, wait_for

OTLP = "OTEL_EXPORTER_OTLP_"


def sending(run: Runner, **env: str) -> dict[str, Any]:
    out = run("autotelemetry", "status", "--json", env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    data["sending"]["problems"] = data["problems"]
    return data["sending"]


def channel(s: dict[str, Any], signal: str) -> dict[str, Any] | None:
    found = [c for c in s["channels"] if c["signal"] == signal]
    return found[0] if found else None


def flush(run: Runner, **env: str) -> subprocess.CompletedProcess[bytes]:
    return run("autotelemetry", "flush", env={**FAST, **env})


# --- endpoints ----------------------------------------------------------------------


def test_generic_endpoint_gets_the_signal_paths(run):
    s = sending(run, **{OTLP + "ENDPOINT": "http://collector:4318/base/"})
    assert s["endpoint_source"] == OTLP + "ENDPOINT"
    assert channel(s, "logs")["url"] == "http://collector:4318/base/v1/logs"
    assert channel(s, "traces")["url"] == "http://collector:4318/base/v1/traces"
    s = sending(run, **{OTLP + "ENDPOINT": "http://collector:4318"})
    assert channel(s, "logs")["url"] == "http://collector:4318/v1/logs"


def test_signal_endpoints_are_used_as_is(run):
    s = sending(run, **{OTLP + "LOGS_ENDPOINT": "http://c:4318/custom/logs"})
    assert channel(s, "logs")["url"] == "http://c:4318/custom/logs"
    assert channel(s, "logs")["url_source"] == OTLP + "LOGS_ENDPOINT"
    assert channel(s, "traces") is None and "no traces endpoint: traces are not sent" in s["notes"]
    s = sending(run, **{OTLP + "TRACES_ENDPOINT": "http://c:4318"})
    assert channel(s, "traces")["url"] == "http://c:4318" and channel(s, "logs") is None
    # the signal-specific one beats the generic one, for its signal only
    s = sending(run, **{OTLP + "ENDPOINT": "http://a:1", OTLP + "TRACES_ENDPOINT": "http://b:2/t"})
    assert channel(s, "logs")["url"] == "http://a:1/v1/logs"
    assert channel(s, "traces")["url"] == "http://b:2/t"


def test_otel_endpoint_delivers_both_signals_on_their_paths(run, receiver):
    record(run, 2)
    out = flush(run, **{OTLP + "ENDPOINT": receiver.url + "/otel/"})
    assert out.returncode == 0, out.stdout + out.stderr
    assert {q["path"] for q in receiver.requests} == {"/otel/v1/logs", "/otel/v1/traces"}
    assert len(receiver.delivered) == 2 and len(receiver.spans) == 2
    receiver2 = Receiver()
    try:
        record(run, 1)
        out = flush(run, **{OTLP + "LOGS_ENDPOINT": receiver2.url + "/ingest"})
        assert [q["path"] for q in receiver2.requests] == ["/ingest"]
    finally:
        receiver2.close()


def test_otel_endpoint_is_consent_the_cli_starts_the_sender(run, receiver):
    env = {OTLP + "ENDPOINT": receiver.url, "AUTOTELEMETRY_SEND_INTERVAL": "1"}
    out = run("exampleclick", "db", "status", env=env)
    assert out.returncode == 0 and out.stderr == b""
    assert wait_for(lambda: len(receiver.delivered) == 1 and len(receiver.spans) == 1)


def test_otel_endpoint_shows_the_notice(run):
    _, err, code = _run_with_pty_stderr(run, {OTLP + "LOGS_ENDPOINT": "http://127.0.0.1:9/l"})
    assert code == 0 and b"is sent to 127.0.0.1:9" in err
    assert (run.home / "notice_shown").exists()


def test_autotelemetry_endpoint_wins(run, receiver, tmp_path):
    s = sending(
        run, AUTOTELEMETRY_ENDPOINT="http://ours:1", **{OTLP + "ENDPOINT": "http://theirs:2"}
    )
    assert channel(s, "logs")["url"] == "http://ours:1/v1/logs"
    assert channel(s, "traces")["url_source"] == "AUTOTELEMETRY_ENDPOINT"
    assert any("OTEL_EXPORTER_OTLP_* endpoints are ignored" in n for n in s["notes"])
    # ours already ending in /v1/logs serves both signals
    s = sending(run, AUTOTELEMETRY_ENDPOINT="http://ours:1/p/v1/logs")
    assert channel(s, "traces")["url"] == "http://ours:1/p/v1/traces"
    # a config file outranks OpenTelemetry's variables too
    (run.home / "config.toml").write_text('endpoint = "http://file:3"\n')
    s = sending(run, **{OTLP + "ENDPOINT": "http://theirs:2"})
    assert channel(s, "logs")["url"] == "http://file:3/v1/logs"
    (run.home / "config.toml").unlink()
    # an empty AUTOTELEMETRY_ENDPOINT means local only, whatever OTEL_* says
    s = sending(run, AUTOTELEMETRY_ENDPOINT="", **{OTLP + "ENDPOINT": receiver.url})
    assert s["endpoint"] is None and s["channels"] == []
    record(run, 1)
    out = flush(run, AUTOTELEMETRY_ENDPOINT="", **{OTLP + "ENDPOINT": receiver.url})
    assert b"no endpoint configured" in out.stdout and receiver.requests == []


def test_bad_otel_endpoint_is_reported_and_ignored(run):
    data = json.loads(
        run("autotelemetry", "status", "--json", env={OTLP + "ENDPOINT": "ftp://x"}).stdout
    )
    assert data["endpoint"] is None
    assert any(p.startswith(OTLP + "ENDPOINT: must be an http") for p in data["problems"])


# --- headers ------------------------------------------------------------------------


def test_otel_headers_percent_decoded_and_per_signal(run, receiver):
    env = {
        OTLP + "ENDPOINT": receiver.url,
        OTLP + "HEADERS": "Authorization=Bearer%20tok%3Den,X-Team = cli ",
        OTLP + "TRACES_HEADERS": "X-Traces=yes",
    }
    s = sending(run, **env)
    assert channel(s, "logs")["headers"] == ["Authorization", "X-Team"]
    assert channel(s, "logs")["headers_source"] == OTLP + "HEADERS"
    assert channel(s, "traces")["headers"] == ["X-Traces"]
    assert channel(s, "traces")["headers_source"] == OTLP + "TRACES_HEADERS"
    record(run, 1)
    assert flush(run, **env).returncode == 0
    (logs,) = receiver.of("logs")
    (traces,) = receiver.of("traces")
    assert logs["headers"]["Authorization"] == "Bearer tok=en"
    assert logs["headers"]["X-Team"] == "cli"
    assert traces["headers"]["X-Traces"] == "yes" and "Authorization" not in traces["headers"]
    # headers never reach disk
    for path in run.home.rglob("*"):
        if path.is_file():
            assert b"tok=en" not in path.read_bytes() and b"tok%3Den" not in path.read_bytes()


def test_autotelemetry_headers_win_and_otel_headers_never_go_to_our_endpoint(run, receiver):
    record(run, 1)
    env = {
        OTLP + "ENDPOINT": receiver.url,
        OTLP + "HEADERS": "Authorization=theirs",
        "AUTOTELEMETRY_HEADERS": "Authorization=ours",
    }
    s = sending(run, **env)
    assert channel(s, "logs")["headers_source"] == "AUTOTELEMETRY_HEADERS"
    assert flush(run, **env).returncode == 0
    assert {q["headers"]["Authorization"] for q in receiver.requests} == {"ours"}
    # A credential for the OpenTelemetry collector is not sent to an endpoint that was
    # configured for autotelemetry alone.
    record(run, 1)
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, OTLP + "HEADERS": "Authorization=theirs"}
    s = sending(run, **env)
    assert channel(s, "logs")["headers"] == [] and channel(s, "logs")["headers_source"] is None
    assert any(n.startswith(OTLP + "HEADERS not used") for n in s["notes"])
    assert flush(run, **env).returncode == 0
    assert all("Authorization" not in q["headers"] for q in receiver.requests[2:])


# --- protocol -------------------------------------------------------------------------


def test_protobuf_by_default_json_on_request(run, receiver):
    record(run, 1)
    assert flush(run, AUTOTELEMETRY_ENDPOINT=receiver.url).returncode == 0
    assert {q["content_type"] for q in receiver.requests} == {"application/x-protobuf"}
    record(run, 1)
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, OTLP + "PROTOCOL": "http/json"}
    assert channel(sending(run, **env), "logs")["encoding_source"] == OTLP + "PROTOCOL"
    assert flush(run, **env).returncode == 0
    assert {q["content_type"] for q in receiver.requests[2:]} == {"application/json"}
    # per signal
    record(run, 1)
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, OTLP + "TRACES_PROTOCOL": "http/json"}
    assert flush(run, **env).returncode == 0
    assert receiver.of("logs")[-1]["content_type"] == "application/x-protobuf"
    assert receiver.of("traces")[-1]["content_type"] == "application/json"
    assert len(receiver.delivered) == 3 and len(receiver.spans) == 3


def test_autotelemetry_protocol_wins(run):
    env = {"AUTOTELEMETRY_ENDPOINT": "http://x:1", OTLP + "PROTOCOL": "http/json"}
    s = sending(run, AUTOTELEMETRY_PROTOCOL="http/protobuf", **env)
    assert {c["encoding"] for c in s["channels"]} == {"http/protobuf"}
    assert channel(s, "logs")["encoding_source"] == "AUTOTELEMETRY_PROTOCOL"
    s = sending(run, AUTOTELEMETRY_PROTOCOL="json", **env)
    assert [(c["signal"], c["encoding"], c["url"]) for c in s["channels"]] == [
        ("events", "json", "http://x:1")
    ]
    # `otlp` names the protocol, not the encoding: OTEL_EXPORTER_OTLP_PROTOCOL refines it
    s = sending(run, AUTOTELEMETRY_PROTOCOL="otlp", **env)
    assert {c["encoding"] for c in s["channels"]} == {"http/json"}


def test_grpc_is_reported_not_silent(run, receiver):
    record(run, 1)
    env = {OTLP + "ENDPOINT": receiver.url, OTLP + "PROTOCOL": "grpc"}
    s = sending(run, **env)
    assert s["channels"] == [] and set(s["blocked"]) == {"logs", "traces"}
    assert any("grpc is not supported" in p for p in s["problems"])
    assert b"grpc is not supported" in run("autotelemetry", "status", env=env).stdout
    doctor = run("autotelemetry", "doctor", "--json", env=env)
    checks = json.loads(doctor.stdout)["checks"]
    assert doctor.returncode == 1
    assert any(c["level"] == "fail" and "grpc is not supported" in c["detail"] for c in checks)
    out = flush(run, **env)
    assert out.returncode == 1 and b"grpc is not supported" in out.stderr
    assert receiver.requests == []
    # one signal on gRPC: the other is still sent
    env = {OTLP + "ENDPOINT": receiver.url, OTLP + "TRACES_PROTOCOL": "grpc"}
    out = flush(run, **env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert [q["signal"] for q in receiver.requests] == ["logs"]
    # its runs wait in the store, said so, and are not "kept for retry"
    assert b"traces: sent 0 span(s), kept 1 (protocol not supported)" in out.stdout
    status = run("autotelemetry", "status", env=env).stdout
    assert b"traces        not sent: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc" in status


def test_unknown_protocol_is_ignored_with_a_problem(run):
    s = sending(run, AUTOTELEMETRY_ENDPOINT="http://x:1", **{OTLP + "PROTOCOL": "thrift"})
    assert {c["encoding"] for c in s["channels"]} == {"http/protobuf"}
    assert any("unknown protocol 'thrift'" in p for p in s["problems"])


# --- compression and timeout -------------------------------------------------------------


def test_compression(run, receiver):
    record(run, 1)
    env = {OTLP + "ENDPOINT": receiver.url, OTLP + "COMPRESSION": "none"}
    assert channel(sending(run, **env), "logs")["compression_source"] == OTLP + "COMPRESSION"
    assert flush(run, **env).returncode == 0
    assert all("Content-Encoding" not in q["headers"] for q in receiver.requests)
    assert len(receiver.delivered) == 1
    # ours wins; the signal-specific one beats the generic one; bad values are reported
    env[OTLP + "LOGS_COMPRESSION"] = "gzip"
    s = sending(run, **env)
    assert channel(s, "logs")["compression"] == "gzip"
    assert channel(s, "traces")["compression"] == "none"
    s = sending(run, AUTOTELEMETRY_COMPRESSION="gzip", **env)
    assert channel(s, "traces")["compression_source"] == "AUTOTELEMETRY_COMPRESSION"
    s = sending(run, **{OTLP + "ENDPOINT": "http://x:1", OTLP + "COMPRESSION": "zstd"})
    assert channel(s, "logs")["compression"] == "gzip"
    assert any("must be gzip or none" in p for p in s["problems"])


def test_timeout_in_milliseconds(run, receiver):
    env = {OTLP + "ENDPOINT": "http://x:1", OTLP + "TIMEOUT": "2500"}
    s = sending(run, **env)
    assert channel(s, "logs")["timeout"] == 2.5
    assert channel(s, "logs")["timeout_source"] == OTLP + "TIMEOUT"
    s = sending(run, **env, **{OTLP + "TRACES_TIMEOUT": "500"})
    assert channel(s, "traces")["timeout"] == 0.5 and channel(s, "logs")["timeout"] == 2.5
    s = sending(run, AUTOTELEMETRY_TIMEOUT="7", **env)
    assert channel(s, "logs")["timeout"] == 7.0
    s = sending(run, **{OTLP + "ENDPOINT": "http://x:1", OTLP + "TIMEOUT": "soon"})
    assert channel(s, "logs")["timeout"] == 10.0
    assert any("positive number of milliseconds" in p for p in s["problems"])
    # on the wire: a hanging collector gives up after the OTEL timeout
    record(run, 1)
    receiver.plan = ["hang"]
    env = {
        OTLP + "ENDPOINT": receiver.url,
        OTLP + "TIMEOUT": "1000",
        "AUTOTELEMETRY_RETRY_BASE": "30",
    }
    out = flush(run, **env)
    assert out.returncode == 1 and b"kept 1 for retry (timeout)" in out.stdout


# --- TLS: trust and client certificates -----------------------------------------------


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _pki(tmp_path: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all by it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    p = {n: tmp_path / f"{n}.pem" for n in ("ca", "ca_key", "srv", "srv_key", "cli", "cli_key")}
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", str(p["ca_key"]), "-out", str(p["ca"]),
    )  # fmt: skip
    ext = tmp_path / "ext.cnf"
    # The extensions Python 3.13's default verification (VERIFY_X509_STRICT) requires: a key
    # usage on the CA, an authority key identifier (and usages) on the leaves.
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "authorityKeyIdentifier=keyid,issuer\n"
        "subjectKeyIdentifier=hash\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    for name, cn in (("srv", "localhost"), ("cli", "client")):
        csr = tmp_path / f"{name}.csr"
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
            "-keyout", str(p[f"{name}_key"]), "-out", str(csr),
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(p["ca"]), "-CAkey", str(p["ca_key"]),
            "-CAcreateserial", "-days", "1", "-out", str(p[name]), "-extfile", str(ext),
        )  # fmt: skip
    return p


def _mtls_server(pki: dict[str, Path]) -> tuple[http.server.HTTPServer, str]:
    """HTTPS on 127.0.0.1 that requires a client certificate signed by the test CA."""
    server = https_sink(pki["srv"], pki["srv_key"], pki["ca"])
    return server, f"https://127.0.0.1:{server.server_address[1]}"


def test_certificate_and_client_certificate(run, tmp_path):
    pki = _pki(tmp_path)
    server, url = _mtls_server(pki)
    hits: list[str] = server.hits  # type: ignore[attr-defined]
    try:
        record(run, 1)
        base = {OTLP + "ENDPOINT": url, "AUTOTELEMETRY_RETRY_BASE": "30"}
        # without our CA: refused; with the CA but no client certificate: refused
        assert flush(run, **base).returncode == 1
        trust = {**base, OTLP + "CERTIFICATE": str(pki["ca"])}
        assert flush(run, **trust).returncode == 1
        assert hits == []
        full = {
            **trust,
            OTLP + "CLIENT_CERTIFICATE": str(pki["cli"]),
            OTLP + "CLIENT_KEY": str(pki["cli_key"]),
        }
        s = sending(run, **full)
        assert channel(s, "logs")["certificate_source"] == OTLP + "CERTIFICATE"
        assert channel(s, "logs")["client_source"] == OTLP + "CLIENT_CERTIFICATE"
        out = flush(run, **full)
        assert out.returncode == 0, out.stdout + out.stderr
        assert sorted(hits) == ["/v1/logs", "/v1/traces"]
        # ours win: a missing AUTOTELEMETRY_CA_BUNDLE or client certificate beats good OTEL_* ones
        record(run, 1)
        for ours in ("AUTOTELEMETRY_CA_BUNDLE", "AUTOTELEMETRY_CLIENT_CERTIFICATE"):
            s = sending(run, **{**full, ours: str(tmp_path / "missing.pem")})
            assert ours in (
                channel(s, "logs")["certificate_source"],
                channel(s, "logs")["client_source"],
            )
            out = flush(run, **{**full, ours: str(tmp_path / "missing.pem")})
            assert out.returncode == 1 and b"TLS setup failed" in out.stdout
        assert len(hits) == 2
        assert flush(run, **full).returncode == 0 and len(hits) == 4
        # OTEL_* trust and identity are not used for an endpoint that is ours
        s = sending(run, AUTOTELEMETRY_ENDPOINT=url, **full)
        assert channel(s, "logs")["certificate"] is None
        assert channel(s, "logs")["client_certificate"] is None
    finally:
        server.shutdown()


# --- resource, service name, SDK switch, signals ---------------------------------------------


def test_resource_attributes_merged_percent_decoded(run, receiver):
    record(run, 1)
    env = {
        OTLP + "ENDPOINT": receiver.url,
        "OTEL_RESOURCE_ATTRIBUTES": (
            "service.namespace=fleet, deployment.environment.name=prod%2Ceu%3Dwest,"
            "team=caf%C3%A9,service.name=hijack,telemetry.sdk.name=x"
        ),
        "OTEL_SERVICE_NAME": "hijack-too",
    }
    s = sending(run, **env)
    assert s["resource"] == {
        "service.namespace": "fleet",
        "deployment.environment.name": "prod,eu=west",
        "team": "café",
    }
    assert any("OTEL_SERVICE_NAME is ignored" in n for n in s["notes"])
    assert flush(run, **env).returncode == 0
    (rec,) = receiver.records
    (span,) = receiver.spans
    for resource in (rec["resource"], span["resource"]):
        assert resource["service.name"] == "exampleclick"
        assert resource["telemetry.sdk.name"] == "autotelemetry"
        assert resource["deployment.environment.name"] == "prod,eu=west"
        assert resource["team"] == "café" and resource["service.namespace"] == "fleet"


@pytest.mark.parametrize("bad", ["a=1,novalue", "=x", "a=%zz", "a=%C3"])
def test_malformed_resource_attributes_discarded_whole(run, bad):
    s = sending(run, AUTOTELEMETRY_ENDPOINT="http://x:1", OTEL_RESOURCE_ATTRIBUTES=bad)
    assert s["resource"] == {}
    assert any(p.startswith("OTEL_RESOURCE_ATTRIBUTES: malformed") for p in s["problems"])


def test_sdk_disabled_turns_off_the_otel_fallback_only(run, receiver):
    env = {OTLP + "ENDPOINT": receiver.url, "OTEL_SDK_DISABLED": "TRUE"}
    s = sending(run, **env)
    assert s["endpoint"] is None and any("OTEL_SDK_DISABLED=true" in n for n in s["notes"])
    out = run("exampleclick", "db", "status", env={**env, "AUTOTELEMETRY_SEND_INTERVAL": "0"})
    assert out.returncode == 0
    assert len(run.events()) == 1  # still recorded locally
    assert not (run.home / "sender.stamp").exists()  # no sender was started
    # only "true" means true (the OpenTelemetry boolean rule)
    assert sending(run, **{**env, "OTEL_SDK_DISABLED": "1"})["endpoint"] == receiver.url
    # AUTOTELEMETRY_ENDPOINT still sends
    out = flush(run, AUTOTELEMETRY_ENDPOINT=receiver.url, OTEL_SDK_DISABLED="true")
    assert out.returncode == 0 and len(receiver.delivered) == 1


def test_signals(run, receiver):
    base = {"AUTOTELEMETRY_ENDPOINT": "http://x:1"}
    assert sending(run, **base)["signals"] == ["logs", "traces"]
    s = sending(run, OTEL_TRACES_EXPORTER="none", **base)
    assert [c["signal"] for c in s["channels"]] == ["logs"]
    assert s["signals_source"] == "OTEL_TRACES_EXPORTER=none"
    s = sending(run, OTEL_LOGS_EXPORTER="none", **base)
    assert [c["signal"] for c in s["channels"]] == ["traces"]
    s = sending(run, AUTOTELEMETRY_SIGNALS="logs,traces", OTEL_LOGS_EXPORTER="none", **base)
    assert s["signals"] == ["logs", "traces"] and s["signals_source"] == "AUTOTELEMETRY_SIGNALS"
    s = sending(run, AUTOTELEMETRY_SIGNALS="metrics", **base)
    assert s["signals"] == ["logs", "traces"]
    assert any(p.startswith("AUTOTELEMETRY_SIGNALS") for p in s["problems"])
    record(run, 2)
    out = flush(run, AUTOTELEMETRY_ENDPOINT=receiver.url, AUTOTELEMETRY_SIGNALS="traces")
    assert out.returncode == 0, out.stdout
    assert [q["signal"] for q in receiver.requests] == ["traces"] and len(receiver.spans) == 2
    assert b"sent 2" in out.stdout
    # turning logs on later sends the stored events as log records: each signal has its
    # own watermark
    out = flush(run, AUTOTELEMETRY_ENDPOINT=receiver.url)
    assert len(receiver.delivered) == 2 and len(receiver.spans) == 2


def test_the_sender_gets_exactly_the_otel_variables_it_honours(run, receiver):
    receiver.default = "hang"
    env = {
        OTLP + "ENDPOINT": receiver.url,
        OTLP + "HEADERS": "a=b",
        "OTEL_RESOURCE_ATTRIBUTES": "team=x",
        OTLP + "METRICS_HEADERS": "api-key=metrics-secret",
        "OTEL_PYTHON_SOMETHING": "1",
        "TRACEPARENT": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        **FAST,
    }
    run("exampleclick", "db", "status", env=env)
    assert receiver.hanging.wait(30)
    found = [
        {e.split(b"=", 1)[0].decode() for e in environ if e}
        for environ in sender_environs(run.home).values()
    ]
    receiver.default = 200
    receiver.release.set()
    (names,) = found
    otel_names = {n for n in names if n.startswith("OTEL_")}
    assert otel_names == {OTLP + "ENDPOINT", OTLP + "HEADERS", "OTEL_RESOURCE_ATTRIBUTES"}
    assert "TRACEPARENT" not in names
