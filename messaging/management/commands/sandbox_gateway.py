"""``manage.py sandbox_gateway --port 9100``: run the WhatsApp sandbox (same entry point as
``python -m messaging.sandbox``; the server itself needs no Django)."""

from __future__ import annotations

import argparse
import logging
import threading
import time
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.sandbox.config import ConfigError, add_config_arguments, config_from_args
from messaging.sandbox.server import run


class Command(BaseCommand):
    help = "Run the local WhatsApp simulator (Cloud API dialect + WAHA subset)."
    requires_system_checks: list[str] = []  # the simulator uses neither models nor the database

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
        parser.add_argument("--port", type=int, default=9100)
        parser.add_argument("--log-level", default="INFO")
        parser.add_argument(
            "--announce-numbers",
            action="store_true",
            help="once listening, register the product's sandbox numbers (from the database) "
            "with this sandbox: it keeps numbers in memory and forgets them when it restarts",
        )
        add_config_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = config_from_args(argparse.Namespace(**options))
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        logging.basicConfig(
            level=str(options["log_level"]).upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        if options["announce_numbers"]:
            threading.Thread(
                target=self._announce,
                args=(f"http://{options['host']}:{options['port']}",),
                name="announce-numbers",
                daemon=True,
            ).start()
        run(config, host=options["host"], port=options["port"])

    @staticmethod
    def _announce(base_url: str) -> None:
        """Wait until the server answers, then register the product's sandbox numbers (the
        product side of this command; the server itself still knows nothing of Django)."""
        from messaging.numbers.services import sandbox_numbers_announce

        log = logging.getLogger("messaging.sandbox")
        for _attempt in range(100):
            try:
                with urllib.request.urlopen(base_url + "/_sandbox/health", timeout=1):  # noqa: S310 # nosec B310
                    break
            except OSError:
                time.sleep(0.1)
        try:
            log.info("announced %d sandbox number(s) from the database", sandbox_numbers_announce())
        except Exception:  # the database may not be migrated yet: the sandbox serves anyway
            log.exception("could not announce the sandbox numbers")
