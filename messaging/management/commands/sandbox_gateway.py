"""``manage.py sandbox_gateway --port 9100``: run the WhatsApp sandbox (same entry point as
``python -m messaging.sandbox``; the server itself needs no Django)."""

from __future__ import annotations

import argparse
import logging
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
        run(config, host=options["host"], port=options["port"])
