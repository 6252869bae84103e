"""Celery finds the messaging app's tasks here; each sub-domain keeps its own thin tasks
(task names are fixed strings, so routing and the beat schedule do not depend on modules)."""

from messaging.contacts import tasks as contacts_tasks
from messaging.content import tasks as content_tasks
from messaging.engine import tasks as engine_tasks
from messaging.imports import tasks as imports_tasks
from messaging.numbers import tasks as numbers_tasks

__all__ = ["contacts_tasks", "content_tasks", "engine_tasks", "imports_tasks", "numbers_tasks"]
