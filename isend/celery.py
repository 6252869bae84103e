"""The Celery application. Configuration lives in settings (CELERY_*), JSON only."""

import os

from celery import Celery

from isend import kombu_compat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isend.settings")
# The worker must survive a Redis restart (celery/kombu 5.7 crash on it otherwise).
kombu_compat.install()

app = Celery("isend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="tasks_webhooks")
app.autodiscover_tasks(related_name="tasks_engine")
