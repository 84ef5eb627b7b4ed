"""The distribution as a server gets it: ``python -m build`` makes a wheel and an sdist, the
wheel installs into a fresh virtualenv and with pipx, and what it installs works there: the
``pykeepalived`` and ``genhash`` commands, a config test of a sample file, and the package data
the installer needs (the unit template, its hardening block, the example defaults file)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DATA = ("pykeepalived/deploy/pykeepalived.service.in", "pykeepalived/deploy/hardening.conf",
        "pykeepalived/deploy/keepalived.default", "pykeepalived/deploy/help.txt",
        "pykeepalived/data/keepalived.conf")
# keepalived refuses a loopback interface and a missing one at -t (exit 5) unless interfaces
# are dynamic: with dynamic_interfaces, this file's -t is clean on any machine, for both.
SAMPLE = """global_defs {
    router_id sample
    dynamic_interfaces
}
vrrp_instance VI_1 {
    state MASTER
    interface pk-sample0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }
}
"""


def run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    out = tmp_path_factory.mktemp("dist")
    p = run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out),
             str(ROOT)])
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    (wheel,) = out.glob("pykeepalived-*.whl")
    (sdist,) = out.glob("pykeepalived-*.tar.gz")
    yield wheel, sdist


def test_wheel_and_sdist_carry_the_deploy_files(dist: tuple[Path, Path]) -> None:
    wheel, sdist = dist
    names = set(zipfile.ZipFile(wheel).namelist())
    for d in DATA:
        assert d in names, d
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "pykeepalived = pykeepalived.cli:main" in text
    assert "genhash = pykeepalived.cli:genhash_entry" in text
    with tarfile.open(sdist) as t:
        members = {m.split("/", 1)[1] for m in t.getnames() if "/" in m}
    for d in DATA:
        assert f"src/{d}" in members, d


def test_fresh_virtualenv_runs_the_config_test(dist: tuple[Path, Path], tmp_path: Path) -> None:
    wheel, _ = dist
    venv = tmp_path / "venv"
    assert run([sys.executable, "-m", "venv", str(venv)]).returncode == 0
    p = run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)])
    assert p.returncode == 0, p.stderr[-3000:]
    conf = tmp_path / "keepalived.conf"
    conf.write_text(SAMPLE)
    t = run([str(venv / "bin" / "pykeepalived"), "-t", "-f", str(conf)])
    assert t.returncode == 0, t.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text(SAMPLE.replace("virtual_router_id 51", "virtual_router_id 300"))
    t = run([str(venv / "bin" / "pykeepalived"), "-t", "-f", str(bad)])
    assert t.returncode != 0 and f"({bad}: Line 8)" in t.stderr, t.stderr
    v = run([str(venv / "bin" / "pykeepalived"), "-v"])
    assert v.stderr.startswith("Keepalived v2.2.7 (pykeepalived v")
    h = run([str(venv / "bin" / "pykeepalived"), "-h"])
    assert h.returncode == 0 and "SYNOPSIS" in h.stdout and "--install-unit" in h.stdout
    g = run([str(venv / "bin" / "genhash"), "--help"])
    assert "Usage: genhash" in g.stdout
    # the installer renders the unit from the installed package data, with this venv's command
    r = run([str(venv / "bin" / "python"), "-c",
             "from pykeepalived.deploy.install import exec_command, render_unit;"
             "print(render_unit(exec_command(), True, True))"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"ExecStart={venv}/bin/pykeepalived --dont-fork" in r.stdout
    assert "CapabilityBoundingSet=" in r.stdout and "Alias=keepalived.service" in r.stdout


def test_pipx_install(dist: tuple[Path, Path], tmp_path: Path) -> None:
    wheel, _ = dist
    env = {**os.environ, "PIPX_HOME": str(tmp_path / "pipx"),
           "PIPX_BIN_DIR": str(tmp_path / "bin"), "PIPX_MAN_DIR": str(tmp_path / "man")}
    p = run([sys.executable, "-m", "pipx", "install", str(wheel)], env=env)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    v = run([str(tmp_path / "bin" / "pykeepalived"), "-v"])
    assert v.returncode == 0 and "pykeepalived v" in v.stderr
    assert (tmp_path / "bin" / "genhash").exists()
