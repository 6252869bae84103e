"""The suppression list moves from the privacy app to messaging, beside the contacts it keeps
out. State only: the table keeps its name (`privacy_suppressedphone`), columns, indexes and
constraints; nothing in the database schema changes (privacy 0005 drops the model from
privacy's state).

The content type row is relabelled (privacy -> messaging) so the permissions that point at it
(the Support group's view and add) and the admin log entries follow the model instead of being
left on a stale type."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _relabel(apps, schema_editor, old_label, new_label):
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    old = content_type.objects.using(db).filter(app_label=old_label, model="suppressedphone")
    if not old.exists():
        return  # a fresh database: the type is created under its new label after migrating
    # A type created under the new label in the meantime has no history; the old one does.
    content_type.objects.using(db).filter(app_label=new_label, model="suppressedphone").delete()
    old.update(app_label=new_label)
    content_type.objects.clear_cache()


def relabel_forward(apps, schema_editor):
    _relabel(apps, schema_editor, "privacy", "messaging")


def relabel_backward(apps, schema_editor):
    _relabel(apps, schema_editor, "messaging", "privacy")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("messaging", "0013_campaign_audience_contract"),
        # The Support group's permissions on the model are created there, under privacy.
        ("privacy", "0004_support_group"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SuppressedPhone",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("phone_hash", models.CharField(max_length=64)),
                        ("scope", models.CharField(choices=[("workspace", "This workspace"), ("platform", "Whole platform")], max_length=12)),
                        ("reason", models.CharField(blank=True, max_length=200, verbose_name="reason")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("workspace", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.workspace")),
                    ],
                    options={
                        "verbose_name": "suppressed phone",
                        "verbose_name_plural": "suppressed phones",
                        "db_table": "privacy_suppressedphone",
                        "constraints": [
                            models.UniqueConstraint(condition=models.Q(("scope", "workspace")), fields=("workspace", "phone_hash"), name="suppressed_unique_in_workspace"),
                            models.UniqueConstraint(condition=models.Q(("scope", "platform")), fields=("phone_hash",), name="suppressed_unique_platform"),
                            models.CheckConstraint(condition=models.Q(models.Q(("scope", "workspace"), ("workspace__isnull", False)), models.Q(("scope", "platform"), ("workspace__isnull", True)), _connector="OR"), name="suppressed_scope_matches_workspace"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(relabel_forward, relabel_backward),
    ]
