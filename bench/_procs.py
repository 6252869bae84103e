"""The product's own processes for the whole-loop benchmarks (gunicorn with the production
settings, Celery workers), and CPU seconds per process kind read from /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
_TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """The process and all its descendants (alive now)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (and of their reaped children)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime are fields 14-17 of stat (1-based); after ")" index 11-14
        total += sum(int(v) for v in fields[11:15])
    return total / _TICKS


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in {"postgres", "postmaster"}:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class CpuMeter:
    """CPU seconds used by each process kind between `start()` and `stop()`. Postgres backends
    come and go; the meter sums every postgres process alive at both ends plus the ones seen
    at the end (new backends start at zero)."""

    def __init__(self, kinds: dict[str, int]) -> None:
        self.kinds = kinds  # kind -> root pid
        self.before: dict[str, dict[int, float]] = {}

    def _sample(self) -> dict[str, dict[int, float]]:
        sample = {
            kind: {pid: cpu_seconds([pid]) for pid in tree(root)}
            for kind, root in self.kinds.items()
        }
        sample["postgres"] = {pid: cpu_seconds([pid]) for pid in postgres_pids()}
        return sample

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> dict[str, float]:
        after = self._sample()
        used = {}
        for kind, pids in after.items():
            before = self.before.get(kind, {})
            used[kind] = round(
                sum(max(0.0, v - before.get(pid, 0.0)) for pid, v in pids.items()), 2
            )
        return used


class ProductProcess:
    """One of the product's processes, started like the Procfile does, stopped with SIGTERM."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        (ROOT / "var").mkdir(exist_ok=True)  # a fresh clone has no var/ yet
        self.log = open(ROOT / "var" / f"bench-{name}.log", "w")  # noqa: SIM115 - closed in stop
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def start_web(port: int, env: dict[str, str], workers: int = 2, threads: int = 4) -> ProductProcess:
    web = ProductProcess(
        "web",
        [
            str(VENV_BIN / "gunicorn"),
            "isend.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()  # noqa: S310
            return web
        except urllib.error.HTTPError:
            return web  # it answers (a failing check is not our concern here)
        except OSError:
            time.sleep(0.2)
    web.stop()
    raise RuntimeError("gunicorn did not start")


def start_worker(
    env: dict[str, str], queues: str, concurrency: int, name: str, pool: str = ""
) -> ProductProcess:
    """A Celery worker; `pool="threads"` as the Procfile's dispatch process runs."""
    return ProductProcess(
        name,
        [
            str(VENV_BIN / "celery"),
            "-A",
            "isend",
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-n",
            f"{name}-bench@%h",
            "-l",
            "warning",
            *(["--pool", pool] if pool else []),
        ],
        env,
    )
