"""Test settings: the real settings with speed knobs and isolation from a developer's data.

Tests use the real Postgres (pytest-django creates `test_<name>`) and a separate Redis database
(15 unless TEST_REDIS_URL says otherwise), so clearing the cache never touches dev data."""

import os
import re

os.environ.setdefault("ISEND_TESTING", "1")
_redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL") or re.sub(r"/\d*$", "", _redis) + "/15"
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("HEALTHZ_REQUIRE_BEAT", "0")

from isend.settings import *  # noqa: E402,F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOW_PRIVATE_WEBHOOK_URLS = True
CELERY_TASK_EAGER_PROPAGATES = True
# Tasks run inline in tests; the engine's drainers are driven by the tests themselves
# (tests/messaging/engine/conftest.py: drain_all), not kicked from inside requests.
# A real Celery worker started by tests/reliability runs these settings with
# ENGINE_KICK_DRAINERS=1 and CELERY_TASK_ALWAYS_EAGER=0 in its environment.
ENGINE_KICK_DRAINERS = env_bool("ENGINE_KICK_DRAINERS", False)  # noqa: F405
# Tests run as a seller whose bank details are configured (bank transfer on offer); the tests
# of an unconfigured seller override this.
INVOICE_SELLER_BANK_DETAILS = (
    INVOICE_SELLER_BANK_DETAILS  # noqa: F405
    or "Beneficiary: iSend MMC\nBank: Test Bank ASC\n"
    "IBAN: AZ21NABZ00000000137010001944\nSWIFT: TESTAZ22"
)
