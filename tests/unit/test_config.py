"""The settings registry: every setting through INI, env and CLI; errors; docs."""

from __future__ import annotations

import argparse
import ast
import os
import re
from pathlib import Path
from typing import Any

import pytest

from fcgigate import config
from fcgigate.config import (
    SETTINGS,
    SETTINGS_BY_NAME,
    BindAddress,
    Config,
    ConfigError,
    add_arguments,
    as_bind,
    as_bool,
    as_octal,
    as_path_list,
    as_seconds,
    as_size,
    cli_values,
    load_config,
    render_docs,
)

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]

# Per setting: three good spellings, all different from each other and from the default
# (used as file, env and CLI values), and one bad spelling with a fragment of its reason.
EXAMPLES: dict[str, tuple[tuple[str, str, str], str, str]] = {
    "app": (("a.b:app", "pkg:make()", "m:x.y"), "no_colon", "package.module:callable"),
    "chdir": (("/srv/a", "/srv/b", "relative/c"), "a\x00b", "expected a path"),
    "pythonpath": (("/a", "/b, /c", "d" + os.pathsep + "e"), "", ""),  # no bad text: see BAD
    "mount": (("/a", "/b/c", "/d"), "/app/", "without a trailing slash"),
    "bind": (
        ("fastcgi://0.0.0.0:9001", "fastcgi://[::1]:9002", "fastcgi+unix:///run/x.sock"),
        "fastcgi://127.0.0.1",
        "missing port",
    ),
    "backlog": (("1", "128", "4096"), "0", "an integer >= 1"),
    "socket_mode": (("0600", "0o666", "777"), "0999", "an octal mode"),
    "socket_owner": (("www-data", "33", "root"), "a\x07b", "a user or group name"),
    "socket_group": (("www-data", "33", "adm"), "a b", "a user or group name"),
    "max_connections": (("1", "4096", "10000"), "0", "an integer >= 1"),
    "workers": (("1", "3", "16"), "none", "an integer >= 1"),
    "cpu_affinity": (("true", "yes", "on"), "maybe", "expected true/false"),
    "preload": (("true", "1", "on"), "perhaps", "expected true/false"),
    "daemon": (("true", "yes", "on"), "sometimes", "expected true/false"),
    "pidfile": (("/run/f.pid", "f.pid", "/tmp/x.pid"), "a\x00b", "expected a path"),
    "umask": (("0027", "0o077", "002"), "0999", "an octal mode"),
    "timeout": (("0", "5", "2m"), "-1", "a duration like"),
    "max_requests": (("1", "1000", "5"), "-1", "an integer >= 0"),
    "max_requests_jitter": (("1", "50", "7"), "x", "an integer >= 0"),
    "recycle_concurrency": (("2", "3", "8"), "0", "an integer >= 1"),
    "user": (("www-data", "1000", "nobody"), "www data", "a user or group name"),
    "group": (("www-data", "33", "nogroup"), "a:b", "a user or group name"),
    "allow_root": (("true", "yes", "1"), "root", "expected true/false"),
    "threads": (("1", "8", "16"), "-1", "an integer >= 0"),
    "loop": (("asyncio", "uvloop", "ASYNCIO"), "trio", "one of auto, asyncio, uvloop"),
    "fastcgi_max_params_size": (("1k", "512k", "1000"), "1.5m", "a size like"),
    "fastcgi_max_params": (("1", "10", "5000"), "0", "an integer >= 1"),
    "fastcgi_max_requests_per_connection": (("1", "100", "7"), "many", "an integer >= 0"),
    "fastcgi_max_concurrent_requests": (("1", "8", "1000"), "0", "an integer >= 1"),
    "stderr_limit": (("0", "1m", "100"), "-1k", "a size like"),
    "max_body_size": (("0", "10m", "2g"), "1t", "a size like"),
    "body_memory_limit": (("0", "64k", "8m"), "lots", "a size like"),
    "idle_timeout": (("5", "2.5", "2m"), "-1", "a duration like"),
    "graceful_timeout": (("0", "1h", "45s"), "soon", "a duration like"),
    "server_header": (("x", "", "my server/1.0"), "a\x07b", "without control characters"),
    "forwarded_allow_ips": (("127.0.0.1/32", "*", "10.0.0.0/8, ::1/128"), "not-an-ip", "not an IP address"),
    "http_max_request_line": (("64", "4094", "16384"), "10", "an integer >= 64"),
    "http_max_headers": (("1", "50", "1000"), "0", "an integer >= 1"),
    "http_max_header_size": (("1k", "32k", "1m"), "big", "a size like"),
    "header_timeout": (("1", "2.5", "1m"), "-1", "a duration like"),
    "body_timeout": (("0", "10", "5m"), "never", "a duration like"),
    "keepalive_timeout": (("0", "2", "75"), "-3", "a duration like"),
    "certfile": (("/etc/ssl/a.pem", "b.pem", "/tmp/c.pem"), "a\x00b", "expected a path"),
    "keyfile": (("/etc/ssl/a.key", "b.key", "/tmp/c.key"), "a\x00b", "expected a path"),
    "ca_certs": (("/etc/ssl/ca.pem", "ca.pem", "/tmp/ca.pem"), "a\x00b", "expected a path"),
    "verify_client": (("true", "yes", "1"), "sure", "expected true/false"),
    "tls_min_version": (("1.3", "1.3", "1.3"), "1.1", "one of 1.2, 1.3"),
    "ciphers": (("ECDHE+AESGCM", "HIGH:!aNULL", "ECDHE+CHACHA20"), "a\x07b", "without control characters"),
    "status_path": (("/status", "", "/x/y"), "status", "a path like /fcgigate/status"),
    "ping_path": (("/ping", "", "/health"), "/a?b", "a path like /fcgigate/status"),
    "status_allow": (("unix", "10.0.0.0/8", "127.0.0.1, unix"), "*", "'*' is not allowed"),
    "slow_request_timeout": (("0", "5", "1m"), "-1", "a duration like"),
    "request_terminate_timeout": (("0", "30", "2m"), "soon", "a duration like"),
    "error_log": (
        ("/var/log/f.log", "syslog:", "syslog:server=10.1.2.3:5140,facility=local3,tag=web"),
        "syslog:server=unix:relative",
        "needs an absolute socket path",
    ),
    "access_log": (("-", "syslog:server=unix:/dev/log", "a.log"), "a\x07b", "without control characters"),
    "access_log_format": (
        ("{status}", "{pid} {request_id} {request_time_us}", "{method} {uri}"),
        "{nope}",
        "unknown field {nope}",
    ),
    "log_rotate_size": (("1m", "100k", "10g"), "-1", "a size like"),
    "log_rotate_when": (("hourly", "daily", "MIDNIGHT"), "weekly", "hourly, daily, midnight, or empty"),
    "log_rotate_keep": (("1", "30", "365"), "0", "an integer >= 1"),
    "log_level": (("debug", "warning", "critical"), "verbose", "one of debug, info"),
}
BAD = [name for name in EXAMPLES if name != "pythonpath"]  # any text is a list of paths


def write_ini(tmp_path: Path, body: str, name: str = "test.ini") -> str:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return str(path)


def parse_cli(*argv: str) -> dict[str, str]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return cli_values(parser.parse_args(argv))


def error(excinfo: pytest.ExceptionInfo[ConfigError]) -> str:
    text = str(excinfo.value)
    assert "\n" not in text, text
    return text


def test_every_setting_has_examples() -> None:
    assert list(EXAMPLES) == [setting.name for setting in SETTINGS]


def test_config_annotations_match_the_registry() -> None:
    annotated = [name for name in Config.__annotations__ if name not in ("path", "mounts", "_sources")]
    assert annotated == [setting.name for setting in SETTINGS]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_registry_record(setting: config.Setting) -> None:
    assert setting.cli_flag == "--" + setting.name.replace("_", "-")
    assert setting.env_name == "FCGIGATE_" + setting.name.upper()
    assert setting.short_help and setting.accepts
    # The typed default is a fixed point, and its INI spelling parses back to it.
    assert setting.parse(setting.default) == setting.default
    assert setting.parse(setting.format(setting.default)) == setting.default
    for good in EXAMPLES[setting.name][0]:
        value = setting.parse(good)
        assert value != setting.default
        assert setting.parse(value) == value
        assert setting.parse(setting.format(value)) == value


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_precedence_cli_over_env_over_file_over_default(tmp_path: Path, setting: config.Setting) -> None:
    in_file, in_env, on_cli = EXAMPLES[setting.name][0]
    path = write_ini(tmp_path, f"# comment\n[fcgigate]\n{setting.name} = {in_file}\n")
    env = {setting.env_name: in_env}
    cli = parse_cli(setting.cli_flag, on_cli)
    assert cli == {setting.name: on_cli}

    cfg = load_config(None, environ={})
    assert (getattr(cfg, setting.name), cfg.source(setting.name)) == (setting.default, "default")
    cfg = load_config(path, environ={})
    assert (getattr(cfg, setting.name), cfg.source(setting.name)) == (setting.parse(in_file), f"{path}:3")
    cfg = load_config(path, environ=env)
    assert (getattr(cfg, setting.name), cfg.source(setting.name)) == (
        setting.parse(in_env),
        f"env {setting.env_name}",
    )
    cfg = load_config(path, cli=cli, environ=env)
    assert (getattr(cfg, setting.name), cfg.source(setting.name)) == (setting.parse(on_cli), setting.cli_flag)
    assert cfg.path == path
    # Only the named setting moved.
    others = {s.name for s in SETTINGS} - {setting.name}
    assert all(getattr(cfg, name) == SETTINGS_BY_NAME[name].default for name in others)


@pytest.mark.parametrize("name", BAD)
def test_bad_value_names_place_and_setting(tmp_path: Path, name: str) -> None:
    setting = SETTINGS_BY_NAME[name]
    _, bad, reason = EXAMPLES[name]
    path = write_ini(tmp_path, f"[fcgigate]\n\n{name} = {bad}\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ={})
    assert error(excinfo).startswith(f"{path}:3: setting '{name}': ")
    assert reason in error(excinfo)

    with pytest.raises(ConfigError) as excinfo:
        load_config(None, environ={setting.env_name: bad})
    assert error(excinfo).startswith(f"{setting.env_name}: setting '{name}': ")

    with pytest.raises(ConfigError) as excinfo:
        load_config(None, cli=parse_cli(f"{setting.cli_flag}={bad}"), environ={})
    assert error(excinfo).startswith(f"{setting.cli_flag}: setting '{name}': ")


def test_error_message_exact(tmp_path: Path) -> None:
    path = write_ini(tmp_path, "[fcgigate]\nthreads = abc\n")
    with pytest.raises(
        ConfigError, match=r"^.*test\.ini:2: setting 'threads': expected an integer >= 0, got 'abc'$"
    ):
        load_config(path, environ={})


def test_a_bad_value_fails_even_when_overridden(tmp_path: Path) -> None:
    path = write_ini(tmp_path, "[fcgigate]\nthreads = abc\n")
    with pytest.raises(ConfigError, match="threads"):
        load_config(path, cli={"threads": "4"}, environ={})


# --------------------------------------------------------------------------- unknown names


def test_unknown_setting_in_file_suggests(tmp_path: Path) -> None:
    path = write_ini(tmp_path, "[fcgigate]\nthreads = 1\nthread = 2\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ={})
    assert error(excinfo) == f"{path}:3: unknown setting 'thread' (did you mean 'threads'?)"


def test_unknown_setting_without_a_close_match(tmp_path: Path) -> None:
    path = write_ini(tmp_path, "[fcgigate]\nzzzzzz = 2\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ={})
    assert error(excinfo) == f"{path}:2: unknown setting 'zzzzzz'"


def test_unknown_env_name_suggests() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_config(None, environ={"FCGIGATE_THREAD": "2"})
    assert error(excinfo) == "FCGIGATE_THREAD: unknown setting (did you mean 'FCGIGATE_THREADS'?)"
    with pytest.raises(ConfigError, match="did you mean 'FCGIGATE_THREADS'"):
        load_config(None, environ={"FCGIGATE_threads": "2"})  # env names are case-sensitive


def test_other_env_names_are_ignored() -> None:
    cfg = load_config(None, environ={"PATH": "/bin", "THREADS": "x", "FCGIGATEX": "1"})
    assert cfg.threads == 0


def test_environ_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FCGIGATE_THREADS", "3")
    cfg = load_config(None)
    assert (cfg.threads, cfg.source("threads")) == (3, "env FCGIGATE_THREADS")


def test_unknown_cli_name_suggests() -> None:
    with pytest.raises(ConfigError, match=r"^--thread: unknown setting \(did you mean '--threads'\?\)$"):
        load_config(None, cli={"thread": "2"}, environ={})


# --------------------------------------------------------------------------- the INI reader


def test_file_errors(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.ini")
    with pytest.raises(
        ConfigError, match=rf"^{re.escape(missing)}: cannot read the config file: No such file"
    ):
        load_config(missing, environ={})
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(tmp_path))}: cannot read the config file"):
        load_config(tmp_path, environ={})
    path = write_ini(tmp_path, "[other]\nthreads = 1\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ={})
    assert error(excinfo) == f"{path}: no [fcgigate] section"
    binary = tmp_path / "binary.ini"
    binary.write_bytes(b"[fcgigate]\nmount = /\xff\n")
    with pytest.raises(ConfigError, match=r"binary\.ini: not UTF-8 text"):
        load_config(binary, environ={})


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("[fcgigate]\nthreads 4\n", 2, "syntax error: expected 'name = value', got 'threads 4'"),
        ("[fcgigate]\n= 4\n", 2, "syntax error"),
        ("[fcgigate\nthreads = 4\n", 1, "expected a section header"),
        ("[]\n", 1, "expected a section header"),
        ("threads = 4\n[fcgigate]\n", 1, "'threads' is outside any section"),
        ("[fcgigate]\nthreads = 1\n\nthreads = 2\n", 4, "setting 'threads' given twice (first at line 2)"),
        ("[fcgigate]\nthreads = 1\n[fcgigate]\n", 3, "duplicate section [fcgigate] (first at line 1)"),
    ],
)
def test_syntax_errors_name_the_line(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    path = write_ini(tmp_path, body)
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ={})
    assert error(excinfo).startswith(f"{path}:{line}: ")
    assert fragment in error(excinfo)


def test_ini_dialect(tmp_path: Path) -> None:
    path = write_ini(
        tmp_path,
        "\ufeff; leading comment\n"
        "[other]\n"
        "whatever = ignored\n"
        "  continued = also ignored\n"
        "threads = not checked here\n"
        "\n"
        "[fcgigate]\n"
        "  Threads: 4        # an indented first key, ':' and an inline comment\n"
        "log_level = debug ; inline ; comment\n"
        "bind =\n"
        "    fastcgi://127.0.0.1:9001,\n"
        "    # a comment inside a value\n"
        "\n"
        "    fastcgi+unix:///run/a.sock\n"
        "error_log = /var/log/a#b.log\n"
        "[later]\n"
        "mount = /ignored\n",
    )
    cfg = load_config(path, environ={})
    assert cfg.threads == 4 and cfg.source("threads") == f"{path}:8"
    assert cfg.log_level == "debug"
    assert [b.url for b in cfg.bind] == ["fastcgi://127.0.0.1:9001", "fastcgi+unix:///run/a.sock"]
    assert cfg.source("bind") == f"{path}:10"
    assert cfg.error_log == "/var/log/a#b.log"  # '#' without whitespace before it is kept
    assert cfg.mount == ""


def test_app_with_inline_hash_is_rejected(tmp_path: Path) -> None:
    path = write_ini(tmp_path, "[fcgigate]\napp = pkg.mod:app#x\n")
    with pytest.raises(ConfigError, match=r":2: setting 'app'"):
        load_config(path, environ={})


def test_continuation_bind_error_names_the_url(tmp_path: Path) -> None:
    path = write_ini(tmp_path, "[fcgigate]\nbind = fastcgi://127.0.0.1:9000\n    fastcgi://[::1]:99999\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ={})
    assert error(excinfo) == (
        f"{path}:2: setting 'bind': bind URL 'fastcgi://[::1]:99999': port 99999 is out of range 0-65535"
    )


def test_an_indented_line_continues_the_value_above(tmp_path: Path) -> None:
    path = write_ini(tmp_path, "[fcgigate]\nthreads = 4\n    log_level = debug\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ={})
    assert (
        error(excinfo)
        == f"{path}:2: setting 'threads': expected an integer >= 0, got '4\\nlog_level = debug'"
    )


# --------------------------------------------------------------------------- bind URLs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "fastcgi://127.0.0.1:9000",
            BindAddress("fastcgi://127.0.0.1:9000", "fastcgi", "tcp", "127.0.0.1", 9000),
        ),
        ("FastCGI://LocalHost:0", BindAddress("fastcgi://localhost:0", "fastcgi", "tcp", "localhost", 0)),
        ("fastcgi://[::1]:9000", BindAddress("fastcgi://[::1]:9000", "fastcgi", "tcp", "::1", 9000)),
        ("fastcgi://[0:0::0001]:65535", BindAddress("fastcgi://[::1]:65535", "fastcgi", "tcp", "::1", 65535)),
        (
            "fastcgi+unix:///run/fcgigate.sock",
            BindAddress("fastcgi+unix:///run/fcgigate.sock", "fastcgi", "unix", path="/run/fcgigate.sock"),
        ),
        ("HTTP://0.0.0.0:8000", BindAddress("http://0.0.0.0:8000", "http", "tcp", "0.0.0.0", 8000)),
        ("http://[::]:80", BindAddress("http://[::]:80", "http", "tcp", "::", 80)),
        (
            "http+unix:///run/h.sock",
            BindAddress("http+unix:///run/h.sock", "http", "unix", path="/run/h.sock"),
        ),
    ],
)
def test_bind_url_parsed(text: str, expected: BindAddress) -> None:
    assert as_bind(text) == (expected,)
    assert str(expected) == expected.url


def test_several_bind_urls() -> None:
    urls = ["fastcgi://127.0.0.1:9000", "fastcgi://[::1]:9000", "fastcgi+unix:///run/a.sock"]
    assert [b.url for b in as_bind(", ".join(urls))] == urls
    assert [b.url for b in as_bind("\n".join(urls) + ",")] == urls
    assert as_bind(as_bind(urls[0])) == as_bind(urls[0])
    assert as_bind(urls) == as_bind(", ".join(urls))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("127.0.0.1:9000", "bind URL '127.0.0.1:9000': missing scheme"),
        ("gopher://h:1", "bind URL 'gopher://h:1': unknown scheme 'gopher'"),
        ("http://127.0.0.1", "bind URL 'http://127.0.0.1': missing port"),
        ("http+unix://run/x.sock", "the socket path must be absolute: http+unix:///run/fcgigate.sock"),
        ("fastcgi://127.0.0.1", "bind URL 'fastcgi://127.0.0.1': missing port"),
        ("fastcgi://127.0.0.1:", "missing port"),
        ("fastcgi://127.0.0.1:http", "port 'http' is not a number"),
        ("fastcgi://127.0.0.1:65536", "port 65536 is out of range 0-65535"),
        ("fastcgi://127.0.0.1:-1", "port '-1' is not a number"),
        ("fastcgi://127.0.0.1:9000/x", "unexpected path or query"),
        ("fastcgi://127.0.0.1:9000?backlog=1", "unexpected path or query"),
        ("fastcgi://:9000", "missing host"),
        ("fastcgi://::1:9000", "put an IPv6 address in brackets"),
        ("fastcgi://[::1]", "missing port"),
        ("fastcgi://[::1:9000", "missing ']'"),
        ("fastcgi://[nope]:9000", "'nope' is not an IPv6 address"),
        ("fastcgi://bad host:1", "invalid host 'bad host'"),
        ("fastcgi+unix://run/x.sock", "the socket path must be absolute"),
        ("fastcgi+unix://", "missing socket path"),
        ("", "expected at least one URL"),
        (" , ", "expected at least one URL"),
        ("fastcgi://a:1, fastcgi://A:1", "bind URL 'fastcgi://a:1' is listed twice"),
    ],
)
def test_bad_bind_url_is_named(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        as_bind(text)
    assert reason in str(excinfo.value)


# --------------------------------------------------------------------------- other validators


@pytest.mark.parametrize("text", ["pkg:app", "a.b.c:app", "a:b.c", "pkg.mod:create_app()", "_x:_y", " m:a "])
def test_app_accepted(text: str) -> None:
    assert load_config(None, cli={"app": text}, environ={}).app == text.strip()


@pytest.mark.parametrize(
    "text",
    [
        "pkg",
        "pkg:",
        ":app",
        "pkg:app()()",
        "pkg:app(1)",
        "1pkg:app",
        "a..b:c",
        "pkg.class:app",
        "p:a b",
        "p:a:b",
    ],
)
def test_app_rejected(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^--app: setting 'app': expected 'package.module:callable'"):
        load_config(None, cli={"app": text}, environ={})


def test_empty_means_not_set_for_optional_settings() -> None:
    cfg = load_config(None, cli={"app": "", "chdir": "  "}, environ={})
    assert cfg.app is None and cfg.chdir is None


@pytest.mark.parametrize("text", ["app", "/app/", "/", "/a b", "/a?b"])
def test_mount_rejected(text: str) -> None:
    with pytest.raises(ConfigError, match="setting 'mount'"):
        load_config(None, cli={"mount": text}, environ={})


def test_as_bool() -> None:
    for text in ("true", "Yes", "ON", "1", True):
        assert as_bool(text) is True
    for text in ("false", "no", "Off", "0", False):
        assert as_bool(text) is False
    with pytest.raises(ValueError, match="expected true/false, yes/no, on/off or 1/0, got 'maybe'"):
        as_bool("maybe")


def test_as_size() -> None:
    assert [as_size(t) for t in ("0", "100", "64k", "64K", "1m", "2g", " 3 k ", 5)] == [
        0, 100, 65536, 65536, 1 << 20, 2 << 30, 3072, 5,
    ]  # fmt: skip
    for bad in ("", "1.5m", "-1", "1kb", "k", -1, True, 1.0):
        with pytest.raises(ValueError, match="a size like"):
            as_size(bad)


def test_as_seconds() -> None:
    assert [as_seconds(t) for t in ("30", "2.5", ".5", "30s", "5m", "1h", 3, 0.25)] == [
        30.0, 2.5, 0.5, 30.0, 300.0, 3600.0, 3.0, 0.25,
    ]  # fmt: skip
    for bad in ("", "-1", "1d", "1e3", "nan", float("inf"), -1, True):
        with pytest.raises(ValueError, match="a duration like"):
            as_seconds(bad)


def test_as_octal() -> None:
    assert [as_octal(t) for t in ("0660", "0o600", "777", "0", 0o640)] == [0o660, 0o600, 0o777, 0, 0o640]
    for bad in ("0990", "rw-", "", "0o17777", 0o17777, -1, True):
        with pytest.raises(ValueError, match="an octal mode"):
            as_octal(bad)


def test_as_path_list() -> None:
    assert as_path_list(f"/a, /b{os.pathsep}c,,\n d") == ("/a", "/b", "c", "d")
    assert as_path_list("") == ()
    assert as_path_list(["/a", " b "]) == ("/a", "b")
    with pytest.raises(ValueError):
        as_path_list([1])  # type: ignore[list-item]


def test_int_rejects_bool() -> None:
    with pytest.raises(ValueError):
        SETTINGS_BY_NAME["threads"].parse(True)


# --------------------------------------------------------------------------- Config


def everything_changed(tmp_path: Path) -> Config:
    """A Config where every setting differs from its default, from all three layers."""
    lines = [f"{name} = {goods[0]}" for name, (goods, _, _) in EXAMPLES.items()]
    path = write_ini(tmp_path, "[fcgigate]\n" + "\n".join(lines) + "\n", "all.ini")
    env = {"FCGIGATE_THREADS": "8", "FCGIGATE_BIND": "fastcgi://[::1]:9, fastcgi+unix:///run/a b.sock"}
    return load_config(path, cli={"idle_timeout": "2.25", "mount": "/x"}, environ=env)


def test_describe_round_trips(tmp_path: Path) -> None:
    for cfg in (load_config(None, environ={}), everything_changed(tmp_path)):
        text = cfg.describe()
        assert text.startswith("[fcgigate]\n")
        for setting in SETTINGS:
            assert f"# {cfg.source(setting.name)}\n" in text
        again = load_config(write_ini(tmp_path, text, "described.ini"), environ={})
        assert again.as_dict() == cfg.as_dict()


def test_describe_lines(tmp_path: Path) -> None:
    lines = everything_changed(tmp_path).describe().splitlines()
    assert lines[1].split("#")[0].rstrip() == "app = a.b:app"
    assert lines[1].endswith(f"# {tmp_path / 'all.ini'}:2")
    by_name = {line.split(" =")[0]: line for line in lines[1:]}
    assert by_name["threads"].split("#")[0].rstrip() == "threads = 8"
    assert by_name["threads"].endswith("# env FCGIGATE_THREADS")
    assert by_name["idle_timeout"].split("#")[0].rstrip() == "idle_timeout = 2.25"
    assert by_name["idle_timeout"].endswith("# --idle-timeout")
    assert by_name["socket_mode"].startswith("socket_mode = 0600 ")


def test_config_is_read_only() -> None:
    cfg = load_config(None, environ={})
    with pytest.raises(AttributeError):
        cfg.threads = 3
    with pytest.raises(AttributeError):
        del cfg.threads


def test_defaults() -> None:
    cfg = load_config(None, environ={})
    expected: dict[str, Any] = {
        "app": None, "chdir": None, "pythonpath": (), "mount": "",
        "bind": (BindAddress("fastcgi://127.0.0.1:9000", "fastcgi", "tcp", "127.0.0.1", 9000),),
        "backlog": 2048, "socket_mode": 0o660, "socket_owner": "", "socket_group": "",
        "max_connections": 1024, "workers": "auto",
        "cpu_affinity": False,
        "preload": False, "daemon": False, "pidfile": None, "umask": 0o022,
        "user": "", "group": "", "allow_root": False, "timeout": 30.0,
        "max_requests": 0, "max_requests_jitter": 0,
        "recycle_concurrency": 1, "threads": 0, "loop": "auto",
        "fastcgi_max_params_size": 256 * 1024, "fastcgi_max_params": 1000,
        "fastcgi_max_requests_per_connection": 0, "fastcgi_max_concurrent_requests": 64,
        "stderr_limit": 64 * 1024, "max_body_size": 1 << 30, "body_memory_limit": 1 << 20,
        "idle_timeout": 75.0, "graceful_timeout": 30.0, "server_header": "fcgigate",
        "forwarded_allow_ips": ("127.0.0.1/32", "::1/128"), "http_max_request_line": 8190,
        "http_max_headers": 100, "http_max_header_size": 65536, "header_timeout": 10.0,
        "body_timeout": 30.0, "keepalive_timeout": 5.0,
        "certfile": None, "keyfile": None, "ca_certs": None, "verify_client": False,
        "tls_min_version": "1.2", "ciphers": "",
        "status_path": "/fcgigate/status", "ping_path": "/fcgigate/ping",
        "status_allow": ("127.0.0.1/32", "::1/128", "unix"), "slow_request_timeout": 10.0,
        "request_terminate_timeout": 50.0, "error_log": "-", "access_log": "",
        "access_log_format": '{remote_addr} - {remote_user} [{time_local}] "{request}" {status} {bytes} '
        '"{referer}" "{user_agent}"',
        "log_rotate_size": 0, "log_rotate_when": "", "log_rotate_keep": 7, "log_level": "info",
    }  # fmt: skip
    assert cfg.as_dict() == expected
    assert cfg.path is None and {cfg.source(name) for name in expected} == {"default"}


# --------------------------------------------------------------------------- argparse


def test_cli_flags() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert cli_values(parser.parse_args([])) == {}
    assert "--fastcgi-max-concurrent-requests" in parser.format_help()
    assert parse_cli("--threads", "4", "--bind=fastcgi://[::1]:1") == {
        "threads": "4",
        "bind": "fastcgi://[::1]:1",
    }
    with pytest.raises(SystemExit):
        parser.parse_args(["--threads"])  # every flag takes a value


# --------------------------------------------------------------------------- docs and hygiene


def test_docs_are_fresh() -> None:
    docs = REPO / "docs" / "settings.md"
    current = docs.read_text(encoding="utf-8") if docs.exists() else ""
    assert current == render_docs(), "docs/settings.md is stale: run make docs"


def test_docs_content(capsys: pytest.CaptureFixture[str]) -> None:
    text = render_docs()
    assert text.splitlines()[0] == config.DOCS_HEADER
    for setting in SETTINGS:
        assert f"### `{setting.name}`" in text
        assert f"`{setting.cli_flag} " in text and f"`{setting.env_name}=" in text
    assert {f"## {setting.section}" for setting in SETTINGS} <= set(text.splitlines())
    assert config.main(["--docs"]) == 0
    assert capsys.readouterr().out == text


def test_ground_floor_imports_nothing_from_fcgigate() -> None:
    tree = ast.parse(Path(config.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("fcgigate")
        elif isinstance(node, ast.Import):
            assert not any(alias.name.startswith("fcgigate") for alias in node.names)
