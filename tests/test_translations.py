"""The translation gate (issue 19): every string the product marks for translation is in the
Azerbaijani and Russian catalogues and translated there, nothing is fuzzy, and the catalogues
compile.

`makemessages` runs on a copy of the source tree (the committed catalogues are never touched),
with the same options as `make messages`; the catalogues it leaves must hold no new, untranslated
or fuzzy entry. `msgfmt --check --statistics` must report only translated messages, and
`compilemessages` must pass."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("az", "ru")
# The same options as the Makefile's `messages` target: the catalogues cover exactly this.
MAKEMESSAGES = [
    "makemessages",
    "--add-location=file",
    "--no-obsolete",
    "--ignore=.venv/*",
    "--ignore=tests/*",
    "--ignore=bench/*",
    "--ignore=var/*",
    "--ignore=docs/*",
    "--ignore=static/vendor/*",
]
NOT_COPIED = shutil.ignore_patterns(
    ".venv",
    ".git",
    "var",
    "tests",
    "bench",
    "docs",
    "vendor",
    "node_modules",
    "__pycache__",
    "*.mo",
)


def _catalogue(root: Path, language: str) -> Path:
    return root / "locale" / language / "LC_MESSAGES" / "django.po"


def _manage(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "DJANGO_SETTINGS_MODULE": "isend.settings_test"}
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _copy_tree(destination: Path) -> Path:
    tree = destination / "src"
    shutil.copytree(ROOT, tree, ignore=NOT_COPIED)
    return tree


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tree after `make messages`: its catalogues are the committed ones merged
    with every string the code marks today."""
    tree = _copy_tree(tmp_path_factory.mktemp("makemessages"))
    result = _manage(tree, *MAKEMESSAGES, *[f"--locale={code}" for code in LANGUAGES])
    assert result.returncode == 0, result.stderr
    return tree


def _key(entry: polib.POEntry) -> tuple[str | None, str]:
    return (entry.msgctxt, entry.msgid)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_string_is_in_the_catalogue(extracted: Path, language: str) -> None:
    committed = {_key(e) for e in polib.pofile(str(_catalogue(ROOT, language))) if not e.obsolete}
    fresh = polib.pofile(str(_catalogue(extracted, language)))

    missing = sorted(e.msgid for e in fresh if _key(e) not in committed)

    assert missing == [], (
        f"{len(missing)} marked strings are not in locale/{language}: run `make messages`, "
        "then translate them"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_makemessages_leaves_nothing_untranslated_or_fuzzy(extracted: Path, language: str) -> None:
    fresh = polib.pofile(str(_catalogue(extracted, language)))

    untranslated = [e.msgid for e in fresh.untranslated_entries()]
    fuzzy = [e.msgid for e in fresh.fuzzy_entries()]

    assert (len(untranslated), len(fuzzy)) == (0, 0), (untranslated[:20], fuzzy[:20])


@pytest.mark.parametrize("language", LANGUAGES)
def test_msgfmt_reports_no_untranslated_and_no_fuzzy_message(language: str) -> None:
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [  # noqa: S607 - msgfmt from gettext, on PATH
            "msgfmt",
            "--check",
            "--statistics",
            "-o",
            os.devnull,
            str(_catalogue(ROOT, language)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    statistics = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d+ translated messages?\.", statistics), statistics


def test_compilemessages_passes(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path)

    result = _manage(tree, "compilemessages", *[f"--locale={code}" for code in LANGUAGES])

    assert result.returncode == 0, result.stderr
    for language in LANGUAGES:
        assert _catalogue(tree, language).with_suffix(".mo").stat().st_size > 0


_EXTRACTED_NAMES = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}
_EXTRACTED_NAMES |= {"pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}
_TRANSLATION_FUNCTIONS = _EXTRACTED_NAMES - {"_"}


def test_translation_functions_are_imported_under_names_makemessages_extracts() -> None:
    """`makemessages` finds strings by the name of the call: `_`, `gettext_lazy`... A string
    marked through another alias (`gettext_lazy as _l`) is never extracted, so it never
    reaches the catalogues and shows in English whatever the language (the failure reasons
    and the activity log did)."""
    alias = re.compile(r"\b(\w+) as (\w+)")
    found = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "tests", "bench", "var", "docs", "static"}:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.lstrip().startswith("from django.utils.translation import"):
                continue
            for name, as_name in alias.findall(line):
                if name in _TRANSLATION_FUNCTIONS and as_name not in _EXTRACTED_NAMES:
                    found.append(f"{relative}: {name} as {as_name}")
    assert found == []
