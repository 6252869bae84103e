"""Policies per language (issue 19): a policy version's Azerbaijani and Russian versions, and
the language version a consent accepted. The language files already beside the English ones
(privacy/policies/<name>.<language>.md) are published for the version their English file is;
later ones by `manage.py policies_publish_translations` (run by `make migrate`)."""

from pathlib import Path

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"


def publish_language_versions(apps, schema_editor):
    # The same rule as privacy.services.policy_translations_publish_from_files, on the
    # historical models (no audit row: nobody published these by hand).
    PolicyDocument = apps.get_model("privacy", "PolicyDocument")
    PolicyTranslation = apps.get_model("privacy", "PolicyTranslation")
    for stem in ("terms", "privacy", "cookies"):
        original = POLICY_DIR / f"{stem}.md"
        if not original.exists():
            continue
        document = (
            PolicyDocument.objects.filter(kind=stem, body=original.read_text(encoding="utf-8"))
            .order_by("-effective_at", "-id")
            .first()
        )
        if document is None:
            continue
        for code in ("az", "ru"):
            path = POLICY_DIR / f"{stem}.{code}.md"
            if not path.exists():
                continue
            body = path.read_text(encoding="utf-8")
            title = body.lstrip().splitlines()[0].lstrip("# ").strip()[:200] if body.strip() else ""
            PolicyTranslation.objects.get_or_create(
                document=document, language=code, defaults={"title": title, "body": body}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0006_datarequest_four_eyes_erasure"),
    ]

    operations = [
        migrations.AddField(
            model_name="consent",
            name="language",
            field=models.CharField(blank=True, default="", max_length=8),
        ),
        migrations.CreateModel(
            name="PolicyTranslation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "language",
                    models.CharField(
                        choices=[("en", "English"), ("az", "Azerbaijani"), ("ru", "Russian")],
                        max_length=8,
                    ),
                ),
                ("title", models.CharField(max_length=200)),
                ("body", models.TextField(help_text="Markdown")),
                ("published_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "document",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="translations",
                        to="privacy.policydocument",
                    ),
                ),
            ],
            options={
                "ordering": ["document", "language"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("document", "language"), name="policy_translation_unique_language"
                    )
                ],
            },
        ),
        migrations.RunPython(publish_language_versions, migrations.RunPython.noop),
    ]
