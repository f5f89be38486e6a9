"""A local PostgreSQL server with pgvector, for trying the PostgreSQL store and for its tests.

    python -m qa postgres start --dir DIR [--port 5433]   # prints the URL to set as QA_STORE
    python -m qa postgres stop --dir DIR

The server is the one the `pgserver` wheel ships (PostgreSQL 16 with pgvector), run with its own
`initdb` and `pg_ctl`: it listens on 127.0.0.1 only, keeps its data, log and socket in DIR, and asks
for a password (generated at the first start, kept in DIR with owner-only permissions and part of the
printed URL). PostgreSQL refuses to run as root, so under root it runs as a system user made for it.
A team's server is better served by a managed or packaged PostgreSQL with pgvector: point QA_STORE at
it; nothing here is needed then.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

DATABASE = "qa"
USER = "qa"
SYSTEM_USER = "qa-postgres"  # who runs the server when we are root
HOST = "127.0.0.1"
URL_FILE = "qa-url"  # the URL of the running server, for `stop`, tests and people


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (for a server about to start there)."""
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class ServerError(Exception):
    """The server could not be started or stopped; the message says why (and where its log is)."""


def binaries() -> Path:
    try:
        from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError as err:  # an optional extra
        raise ServerError("the local PostgreSQL server needs the pgserver package: "
                          "pip install -e '.[postgres]'") from err
    return Path(POSTGRES_BIN_PATH)


@dataclass(frozen=True)
class Server:
    folder: Path
    port: int
    url: str
    pid: int


def start(folder: Path, port: int = 5433) -> Server:
    """Start (creating it on first use) the server whose data is in `folder`; a server already
    running there is left running and returned."""
    folder = Path(folder).resolve()
    data = folder / "data"
    running = status(folder)
    if running:
        return running
    user = _system_user()
    folder.mkdir(parents=True, exist_ok=True)
    password_file = folder / "password"
    if not (data / "PG_VERSION").exists():
        password = secrets.token_urlsafe(18)
        password_file.write_text(password)
        password_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
        data.mkdir(exist_ok=True)
        _hand_over(folder, user)
        pwfile = folder / ".initdb-password"
        pwfile.write_text(password)
        _hand_over(pwfile, user)
        try:
            _run(["initdb", "-D", str(data), "-U", USER, "--auth=scram-sha-256", f"--pwfile={pwfile}",
                  "--encoding=UTF8", "--locale=C"], user)
        finally:
            pwfile.unlink(missing_ok=True)
    password = password_file.read_text().strip()
    _hand_over(folder, user)
    options = f"-c listen_addresses={HOST} -p {port} -k {folder}"
    _run(["pg_ctl", "start", "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60", "-o", options], user,
         failure=f"see its log, {folder / 'log'}")
    url = f"postgresql://{USER}:{password}@{HOST}:{port}/{DATABASE}"
    _create_database(f"postgresql://{USER}:{password}@{HOST}:{port}/postgres")
    (folder / URL_FILE).write_text(url)
    (folder / URL_FILE).chmod(stat.S_IRUSR | stat.S_IWUSR)
    return Server(folder, port, url, _pid(data))


def start_replica(folder: Path, primary: Path, port: int = 5434) -> Server:
    """Start a streaming replica of the server of `primary` (a folder `start` made) with its data in
    `folder`: a copy taken with pg_basebackup, then kept up to date from the primary's WAL. It answers
    reads (a read-only PostgreSQL store) while the primary takes every change: how reads scale out."""
    folder, source = Path(folder).resolve(), status(primary)
    if source is None:
        raise ServerError(f"no server is running on {primary}: start it first")
    running = status(folder)
    if running:
        return running
    user = _system_user()
    data = folder / "data"
    if not (data / "PG_VERSION").exists():
        folder.mkdir(parents=True, exist_ok=True)
        _hand_over(folder, user)
        _run(["pg_basebackup", "-d", source.url.rsplit("/", 1)[0] + "/postgres", "-D", str(data), "-R",
              "-X", "stream", "--checkpoint=fast"], user)
    (folder / "password").write_text((Path(primary).resolve() / "password").read_text())
    (folder / "password").chmod(stat.S_IRUSR | stat.S_IWUSR)
    _hand_over(folder, user)
    options = f"-c listen_addresses={HOST} -p {port} -k {folder}"
    _run(["pg_ctl", "start", "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60", "-o", options], user,
         failure=f"see its log, {folder / 'log'}")
    url = f"{source.url.rsplit('@', 1)[0]}@{HOST}:{port}/{DATABASE}"
    (folder / URL_FILE).write_text(url)
    (folder / URL_FILE).chmod(stat.S_IRUSR | stat.S_IWUSR)
    return Server(folder, port, url, _pid(data))


def status(folder: Path) -> Server | None:
    """The server running on `folder`'s data, if one is."""
    folder = Path(folder).resolve()
    data, url_file = folder / "data", folder / URL_FILE
    pid = _pid(data) if (data / "postmaster.pid").exists() else 0
    if not pid or not url_file.exists() or not _alive(pid):
        return None
    url = url_file.read_text().strip()
    return Server(folder, int(url.rsplit(":", 1)[1].split("/")[0]), url, pid)


def stop(folder: Path) -> bool:
    """Stop the server of `folder` (a fast shutdown: sessions are ended, nothing committed is lost);
    False if none was running."""
    folder = Path(folder).resolve()
    running = status(folder)
    if running is None:
        return False
    _run(["pg_ctl", "stop", "-D", str(folder / "data"), "-m", "fast", "-w", "-t", "60"], _system_user())
    (folder / URL_FILE).unlink(missing_ok=True)
    return True


def _create_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as db:
        if db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
            db.execute(f'CREATE DATABASE "{DATABASE}"')


def _pid(data: Path) -> int:
    try:
        return int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _alive(pid: int) -> bool:
    """A running process (pg_ctl's postmaster is reparented: after it exits it may linger as a zombie)."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _system_user() -> str | None:
    """None when we are not root; else the system user the server runs as (made if missing)."""
    if os.geteuid() != 0:
        return None
    from pgserver.utils import ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    return SYSTEM_USER


def _hand_over(path: Path, user: str | None) -> None:
    """Let `user` (when we are root) own `path` and pass through the folders above it and above the
    server's binaries (execute permission only: nothing becomes listable or readable by others)."""
    if user is None:
        return
    import pwd

    entry = pwd.getpwnam(user)
    for target in (path, binaries()):
        for parent in Path(target).resolve().parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    if path.is_dir():
        for child in path.rglob("*"):
            os.chown(child, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def _run(command: list[str], user: str | None, failure: str = "") -> None:
    # As the user alone, with none of root's groups (whose permission bits would apply instead of others').
    who = {"user": user, "group": user, "extra_groups": []} if user else {}
    done = subprocess.run([str(binaries() / command[0]), *command[1:]], capture_output=True, text=True, timeout=120,
                          cwd="/", **who)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ServerError(f"{command[0]} failed: {message[0]}" + (f" ({failure})" if failure else ""))
