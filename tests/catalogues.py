"""The compiled catalogues (.mo) are build output, not committed: the test session builds any
that is missing or older than its .po (``make install`` and the Dockerfile run
``compilemessages`` for real runs). Written to a temporary file and renamed, so two test
processes starting at once never read a half-written catalogue."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def compile_stale_catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile every locale/*/LC_MESSAGES/*.po whose .mo is missing or stale; returns them."""
    compiled = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        os.close(fd)
        try:
            polib.pofile(str(po)).save_as_mofile(tmp)
            os.replace(tmp, mo)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        compiled.append(mo)
    return compiled
