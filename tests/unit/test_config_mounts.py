"""[mount:/prefix] sections: parsed with file:line errors, shown by describe()."""

from __future__ import annotations

from pathlib import Path

import pytest

from fcgigate.config import ConfigError, Mount, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "f.ini"
    path.write_text(text, encoding="utf-8")
    return path


def test_mount_sections_in_file_order_with_threads_defaulting_to_the_global(tmp_path: Path) -> None:
    path = write(tmp_path, "[fcgigate]\nthreads = 3\n[mount:/b]\napp = p.b:app\n[other]\nx = 1\n"
                           "[mount:/a/v1]\napp = p.a:make()  ; factory\nthreads = 0\n")  # fmt: skip
    config = load_config(path, environ={})
    assert config.mounts == (
        Mount("/b", "p.b:app", 3, f"{path}:3"),
        Mount("/a/v1", "p.a:make()", 0, f"{path}:7"),
    )
    assert config.app is None


def test_threads_default_is_the_effective_global_one(tmp_path: Path) -> None:
    path = write(tmp_path, "[fcgigate]\nthreads = 3\n[mount:/b]\napp = p.b:app\n")
    config = load_config(path, {"threads": "5"}, environ={})
    assert config.mounts[0].threads == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[mount:/a]\napp = x:y\nthread = 2\n", ":4: unknown setting 'thread' (did you mean 'threads'?)"),
        ("[mount:/a]\napp = x:y\nthreads = -1\n", ":4: [mount:/a] setting 'threads': expected"),
        ("[mount:/a]\napp = not a spec\n", ":3: [mount:/a] setting 'app': expected"),
        ("[mount:/a]\nthreads = 1\n", ":2: section [mount:/a]: setting 'app' is required"),
        ("[mount:/a/]\napp = x:y\n", ":2: section [mount:/a/]: expected '' (the root) or a path like /app"),
        ("[mount:a]\napp = x:y\n", ":2: section [mount:a]: expected"),
        ("[mount:]\napp = x:y\n", ":2: section [mount:]: the prefix is empty"),
        ("[mount:/a]\napp = x:y\n[mount:/a]\napp = x:z\n", ":4: duplicate section [mount:/a] (first at"),
        ("[mount:/a]\napp = x:y\n[mount: /a]\napp = x:z\n", ":4: mount '/a' given twice (first at"),
        ("[mount:/a]\napp = x:y\napp = x:z\n", ":4: setting 'app' given twice (first at line 3)"),
    ],
)  # fmt: skip
def test_bad_mount_sections_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "[fcgigate]\n" + text)
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert str(error.value).startswith(f"{path}{message}"), str(error.value)


def test_a_mount_at_the_root_apps_mount_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[fcgigate]\napp = x:y\nmount = /a\n[mount:/a]\napp = x:z\n")
    with pytest.raises(ConfigError, match=r":4: mount '/a' is also the 'mount' of the root app"):
        load_config(path, environ={})


def test_describe_shows_the_mounts_and_loads_back(tmp_path: Path) -> None:
    path = write(tmp_path, "[fcgigate]\napp = r:app\n[mount:/a]\napp = p.a:app\nthreads = 2\n")
    text = load_config(path, environ={}).describe()
    assert f"[mount:/a]  # {path}:3\napp = p.a:app\nthreads = 2\n" in text
    again = write(tmp_path, text)
    assert [(m.prefix, m.app, m.threads) for m in load_config(again, environ={}).mounts] == [
        ("/a", "p.a:app", 2)
    ]


def test_names_and_labels(tmp_path: Path) -> None:
    path = write(tmp_path, "[fcgigate]\napp = r:app\n[mount:/a]\napp = p.a:app\n")
    config = load_config(path, environ={})
    assert config.apps() == "r:app, /a=p.a:app"
    assert config.mount_names() == ("/", "/a")
    assert config.runs_inline()
    assert load_config(write(tmp_path, "[fcgigate]\napp = r:app\n"), environ={}).mount_names() == ()
