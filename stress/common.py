"""What the stress runs share: a seeded database, gunicorn on loopback, and a browser-like client with CSRF."""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess  # starts gunicorn from this virtualenv, argument lists only  # nosec B404
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "stress-test-secret-key-not-for-production-0123456789"  # noqa: S105  # loopback test servers  # nosec B105


def reset_and_seed(url: str) -> None:
    """An empty database at the current schema, with members and the demo data (as `make demo` loads it)."""
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET, MATCHMAKER_ENV="development", FLASK_APP="wsgi.py")
    if url.startswith("sqlite"):
        path = Path(url.replace("sqlite:///", ""))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        from sqlalchemy import create_engine, text

        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1)
                               if url.startswith("postgresql://") else url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    script = ("from matchmaker.app import create_app\nfrom flask_migrate import upgrade\n"
              "from matchmaker.extensions import db\nfrom matchmaker.services.reference import load_members\n"
              "from matchmaker.services.demo import seed_demo\napp = create_app()\n"
              "with app.app_context():\n    upgrade(); load_members(); seed_demo(); db.session.commit()\n")
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True,  # noqa: S603  # nosec B603
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Server:
    """gunicorn serving wsgi:app on 127.0.0.1:port with the given database."""

    def __init__(self, url: str, port: int, workers: int = 4, log: Path | None = None):
        self.url, self.port, self.workers = url, port, workers
        self.log = log or Path(tempfile.gettempdir()) / f"matchmaker-stress-{port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        if not free(self.port):
            raise RuntimeError(f"port {self.port} is already in use: stop what listens there first")
        env = dict(os.environ, DATABASE_URL=self.url, SECRET_KEY=SECRET, MATCHMAKER_ENV="development",
                   BASE_URL=self.base)
        self.process = subprocess.Popen(  # noqa: S603  # this interpreter's gunicorn  # nosec B603
            [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
             "--timeout", "60", "--error-logfile", str(self.log), "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.process.poll() is not None:
                    raise RuntimeError(f"gunicorn exited at start on port {self.port}; see {self.log}")
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:  # noqa: S310  # http on loopback  # nosec B310
                    if response.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        self.stop()                 # not left listening on the port for the next run to find taken
        raise RuntimeError(f"gunicorn did not start on port {self.port}; see {self.log}")

    def worker_pids(self) -> list[int]:
        """The master's live children (its workers), read from /proc."""
        if self.process is None:
            return []
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                pids.append(int(stat.parent.name))
        return pids

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


def free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Keeps its cookies and posts forms with their CSRF token, as a browser would."""

    def __init__(self, base: str, timeout: float = 30):
        self.base, self.timeout = base, timeout
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=self.timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def token(self, path: str) -> str | None:
        status, html = self.request(path)
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) if status == 200 else None
        return found.group(1) if found else None

    def login(self, email: str, password: str) -> bool:
        token = self.token("/login")
        if token is None:
            return False
        status, _ = self.request("/login", {"email": email, "password": password, "csrf_token": token})
        return status == 302
