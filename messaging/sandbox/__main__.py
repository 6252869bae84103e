"""``python -m messaging.sandbox --port 9100``: run the sandbox gateway (no Django needed)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from messaging.sandbox.config import ConfigError, config_from_args, parse_cli
from messaging.sandbox.server import run


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_cli(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        logging.getLogger("messaging.sandbox").error("invalid option: %s", exc)
        return 2
    run(config, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
