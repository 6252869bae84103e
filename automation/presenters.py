"""How the automation app's audit actions read to a person (see `accounts.presenters`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

AUDIT_SENTENCES: dict[str, Any] = {
    "automation_rule.create": gettext_lazy("Keyword rule “%(target)s” created"),
    "automation_rule.update": gettext_lazy("Keyword rule “%(target)s” changed"),
    "automation_rule.delete": gettext_lazy("Keyword rule “%(target)s” deleted"),
}
