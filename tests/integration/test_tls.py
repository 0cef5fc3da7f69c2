"""HTTPS listeners: `https://HOST:PORT` with certfile/keyfile, mutual TLS, bad files, renewal on HUP.

Certificates are made by the test with the openssl command (a CA, a server
certificate for 127.0.0.1, a client certificate) and checked with curl, as a
user would, and with Python's ssl module where the test needs to look at the
certificate the server presents.
"""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import REPO_ROOT, clean_environ, free_port

TIMEOUT = 20.0


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str = "ca") -> None:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
            "-subj", f"/CN=fcgigate test {name}", cwd=directory)  # fmt: skip


def make_cert(directory: Path, name: str, cn: str, ca: str = "ca", server: bool = True) -> None:
    """``name``.pem and ``name``.key, signed by ``ca``."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=directory)  # fmt: skip
    ext = directory / f"{name}.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n" if server
                   else "extendedKeyUsage=clientAuth\n")  # fmt: skip
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", ext.name,
            cwd=directory)  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    make_ca(directory)
    make_cert(directory, "server", "127.0.0.1")
    make_cert(directory, "renewed", "127.0.0.1 renewed")
    make_cert(directory, "client", "alice", server=False)
    make_ca(directory, "other")
    make_cert(directory, "stranger", "mallory", ca="other", server=False)
    return directory


def curl(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args, url], capture_output=True, text=True,
                          timeout=30)  # fmt: skip


def presented_cn(port: int, cafile: Path) -> str:
    """The CN of the certificate the server presents to a new connection."""
    context = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            subject = dict(rdn[0] for rdn in tls.getpeercert()["subject"])
            assert tls.selected_alpn_protocol() in (None, "http/1.1")
            return subject["commonName"]


def start_tls(daemon_factory: Any, pki: Path, **settings: Any) -> tuple[Any, int]:
    port = free_port()
    daemon = daemon_factory(
        {"bind": f"https://127.0.0.1:{port}", "certfile": pki / "server.pem", "keyfile": pki / "server.key",
         **settings},
        "tests.apps.echo:app",
    )  # fmt: skip
    return daemon, port


def test_get_and_post_over_https(daemon_factory: Any, pki: Path) -> None:
    _, port = start_tls(daemon_factory, pki)
    url = f"https://127.0.0.1:{port}/path?x=1"
    result = curl(url, "--cacert", str(pki / "ca.pem"))
    assert result.returncode == 0, result.stderr
    environ = json.loads(result.stdout)
    assert environ["wsgi.url_scheme"] == "https" and environ["HTTPS"] == "on", environ
    assert environ["PATH_INFO"] == "/path" and environ["SSL_PROTOCOL"].startswith("TLSv1.")
    posted = curl(url, "--cacert", str(pki / "ca.pem"), "--data-binary", "hello over tls")
    assert posted.returncode == 0, posted.stderr
    assert json.loads(posted.stdout)["body_sha256"] == hashlib.sha256(b"hello over tls").hexdigest()
    # A client that does not trust our CA refuses us: this is really TLS with our certificate.
    assert curl(url).returncode != 0
    assert presented_cn(port, pki / "ca.pem") == "127.0.0.1"


def test_mutual_tls_needs_a_client_certificate(daemon_factory: Any, pki: Path) -> None:
    _, port = start_tls(daemon_factory, pki, ca_certs=pki / "ca.pem", verify_client=True)
    url = f"https://127.0.0.1:{port}/"
    anonymous = curl(url, "--cacert", str(pki / "ca.pem"))
    assert anonymous.returncode != 0, anonymous.stdout
    stranger = curl(url, "--cacert", str(pki / "ca.pem"), "--cert", str(pki / "stranger.pem"), "--key",
                    str(pki / "stranger.key"))  # fmt: skip
    assert stranger.returncode != 0, stranger.stdout
    alice = curl(url, "--cacert", str(pki / "ca.pem"), "--cert", str(pki / "client.pem"), "--key",
                 str(pki / "client.key"))  # fmt: skip
    assert alice.returncode == 0, alice.stderr
    environ = json.loads(alice.stdout)
    assert environ["SSL_CLIENT_VERIFY"] == "SUCCESS" and "CN=alice" in environ["SSL_CLIENT_S_DN"], environ


def fcgigate_check(ini: Path) -> subprocess.CompletedProcess[str]:
    env = {**clean_environ(), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "fcgigate", "check", "-c", str(ini)], capture_output=True,
                          text=True, timeout=60, env=env, cwd=ini.parent)  # fmt: skip


@pytest.mark.parametrize(
    ("certfile", "keyfile", "message"),
    [
        ("server.pem", "renewed.key",
         "setting 'keyfile': {pki}/renewed.key is not the key of the certificate"),
        ("missing.pem", "server.key", "{pki}/missing.pem: no such file"),
        ("server.csr", "server.key", "is not a PEM certificate and key"),
    ],
)  # fmt: skip
def test_a_bad_certificate_or_key_is_refused_naming_the_file(
    daemon_factory: Any, pki: Path, tmp_path: Path, certfile: str, keyfile: str, message: str
) -> None:
    port = free_port()
    settings = {"bind": f"https://127.0.0.1:{port}", "certfile": pki / certfile, "keyfile": pki / keyfile}
    daemon = daemon_factory(settings, "tests.apps.echo:app", wait=False)
    assert daemon.wait(15) == 1
    expected = message.format(pki=pki)
    assert expected in daemon.log() and "Traceback" not in daemon.log(), daemon.log()
    checked = fcgigate_check(daemon.ini)
    assert checked.returncode == 1 and expected in checked.stderr, checked.stderr


def test_an_https_listener_without_certfile_is_refused(daemon_factory: Any) -> None:
    daemon = daemon_factory({"bind": f"https://127.0.0.1:{free_port()}"}, "tests.apps.echo:app", wait=False)
    assert daemon.wait(15) == 1
    assert "setting 'certfile': an https:// listener needs certfile" in daemon.log()


def test_hup_picks_up_a_renewed_certificate_without_a_failed_request(daemon_factory: Any, pki: Path,
                                                                     tmp_path: Path) -> None:  # fmt: skip
    live = tmp_path / "live"
    live.mkdir()
    for suffix in ("pem", "key"):
        (live / f"cert.{suffix}").write_bytes((pki / f"server.{suffix}").read_bytes())
    daemon, port = start_tls(daemon_factory, pki, certfile=live / "cert.pem", keyfile=live / "cert.key",
                             workers=2)  # fmt: skip
    assert presented_cn(port, pki / "ca.pem") == "127.0.0.1"
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    failures: list[str] = []
    done = threading.Event()
    count = [0]

    def client() -> None:
        while not done.is_set() and count[0] < 2000:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
                    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                        tls.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                        data = b""
                        while chunk := tls.recv(65536):
                            data += chunk
                if not data.startswith(b"HTTP/1.1 200"):
                    failures.append(data[:80].decode("latin-1"))
            except (OSError, ssl.SSLError) as exc:
                failures.append(repr(exc))
            count[0] += 1

    loader = threading.Thread(target=client, daemon=True)
    loader.start()
    time.sleep(0.5)
    # Renewal: the files are replaced (as certbot does), then HUP.
    for suffix in ("pem", "key"):
        (live / f"cert.{suffix}.new").write_bytes((pki / f"renewed.{suffix}").read_bytes())
        (live / f"cert.{suffix}.new").replace(live / f"cert.{suffix}")
    daemon.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + TIMEOUT
    while presented_cn(port, pki / "ca.pem") != "127.0.0.1 renewed":
        assert time.monotonic() < deadline, daemon.log()
        time.sleep(0.1)
    time.sleep(0.5)
    done.set()
    loader.join(TIMEOUT)
    assert count[0] > 10 and failures == [], (count[0], failures[:5])


def test_a_handshake_that_never_completes_is_cut_at_header_timeout(daemon_factory: Any, pki: Path) -> None:
    _, port = start_tls(daemon_factory, pki, header_timeout=1)
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and nothing more
        started = time.monotonic()
        assert sock.recv(4096) == b"", "the server should close the connection"
        assert time.monotonic() - started < 5
