"""A throwaway PostgreSQL server for the tests: initdb in a temp dir, loopback only, fsync off.

The Debian `postgresql` package provides the binaries (`.ci/run` installs it). PostgreSQL refuses
to run as root, so when the tests run as root the server runs as the `postgres` user.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator


def pg_bin(name: str) -> str | None:
    """The path of a PostgreSQL server binary, from PATH or Debian's /usr/lib/postgresql/<v>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server, yield its libpq connection string (user postgres, database postgres), stop it."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="segwarehouse-pg-"))
    data = base / "data"
    if as_root:
        shutil.chown(base, "postgres")
    port = _free_port()
    subprocess.run(run_as + [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                             "--no-sync"], check=True, capture_output=True)
    options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c synchronous_commit=off " \
              "-c full_page_writes=off -c TimeZone=UTC"
    subprocess.run(run_as + [pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(base / "log"), "start"],
                   check=True, capture_output=True)
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        subprocess.run(run_as + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
