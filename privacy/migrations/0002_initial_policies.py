"""Publish version 1.0 of the terms, privacy policy and cookie policy from privacy/policies/.

A first version takes effect at once: there is nobody to give notice to yet. Later versions are
published by staff in admin with at least 30 days' notice for material changes."""

from pathlib import Path

from django.db import migrations
from django.utils import timezone

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"
KINDS = {"terms": "terms.md", "privacy": "privacy.md", "cookies": "cookies.md"}


def publish(apps, schema_editor):
    PolicyDocument = apps.get_model("privacy", "PolicyDocument")
    now = timezone.now()
    for kind, filename in KINDS.items():
        body = (POLICY_DIR / filename).read_text(encoding="utf-8")
        title = body.splitlines()[0].lstrip("# ").strip()
        PolicyDocument.objects.get_or_create(
            kind=kind,
            version="1.0",
            defaults={"title": title, "body": body, "published_at": now, "effective_at": now},
        )


def unpublish(apps, schema_editor):
    apps.get_model("privacy", "PolicyDocument").objects.filter(version="1.0").delete()


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial")]
    operations = [migrations.RunPython(publish, unpublish)]
