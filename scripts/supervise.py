#!/usr/bin/env python3
"""Keep one long-running process alive: restart it with backoff whenever it exits by itself.

    python scripts/supervise.py --name dispatch -- celery -A isend worker -Q dispatch ...

`make run` starts the Procfile with honcho, which stops everything when one process exits; the
Procfile runs the worker, dispatch, beat and sandbox through this wrapper so a crash (a broker
outage, a bug) costs a restart, not the whole stack. docker compose does the same with
`restart: unless-stopped`.

- The child runs in this process's process group, so whatever signals the group (honcho's
  SIGTERM then SIGKILL to each process group, a terminal's Ctrl-C) reaches both at once and
  leaves no orphan.
- SIGINT, SIGTERM or SIGHUP stop the supervision: no restart follows, the child is sent SIGTERM
  (a warm shutdown for Celery; a second SIGTERM after the group's own is harmless), the wrapper
  waits for it and exits with its code.
- Backoff: `--min-backoff` seconds after the first crash, doubling up to `--max-backoff`; a run
  that lasted `--stable-after` seconds resets it.
- Each restart is logged on stderr:
  "supervise[NAME]: exited with code X after S s; restart N in B s".
Standard library only: it runs before anything else is importable."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Supervisor:
    def __init__(
        self,
        command: list[str],
        *,
        name: str,
        min_backoff: float,
        max_backoff: float,
        stable_after: float,
    ) -> None:
        self.command = command
        self.name = name
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.restarts = 0

    def log(self, text: str) -> None:
        sys.stderr.write(f"supervise[{self.name}]: {text}\n")
        sys.stderr.flush()

    def on_stop_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            self.log(f"{signal.Signals(signum).name} received: stopping, no restart")
        self.stopping = True
        child = self.child
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up early when asked to stop."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.2))

    def run(self) -> int:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self.on_stop_signal)
        backoff = self.min_backoff
        while not self.stopping:
            started = time.monotonic()
            try:
                self.child = subprocess.Popen(self.command)  # noqa: S603 - our own command line
            except OSError as exc:
                self.log(f"cannot start {self.command[0]!r}: {exc}")
                return 127
            code = self.child.wait()
            if self.stopping:
                return 128 - code if code < 0 else code
            lasted = time.monotonic() - started
            if lasted >= self.stable_after:
                backoff = self.min_backoff
            self.restarts += 1
            self.log(
                f"exited with code {code} after {lasted:.1f} s; "
                f"restart {self.restarts} in {backoff:g} s"
            )
            self.sleep(backoff)
            if self.stopping:
                return 128 - code if code < 0 else code
            backoff = min(backoff * 2, self.max_backoff)
        return 0


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" not in argv:
        raise SystemExit("usage: supervise.py [--name NAME] [options] -- COMMAND [ARGS...]")
    split = argv.index("--")
    own, command = argv[:split], argv[split + 1 :]
    if not command:
        raise SystemExit("supervise.py: no command after --")
    parser = argparse.ArgumentParser(prog="supervise.py")
    parser.add_argument("--name", default=os.path.basename(command[0]))
    parser.add_argument("--min-backoff", type=float, default=1.0)
    parser.add_argument("--max-backoff", type=float, default=30.0)
    parser.add_argument("--stable-after", type=float, default=60.0)
    return parser.parse_args(own), command


def main(argv: list[str]) -> int:
    options, command = parse(argv)
    return Supervisor(
        command,
        name=options.name,
        min_backoff=options.min_backoff,
        max_backoff=options.max_backoff,
        stable_after=options.stable_after,
    ).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
