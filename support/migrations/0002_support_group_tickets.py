"""The "Support" group (privacy/migrations/0004_support_group.py) also works the ticket queue:
it sees and answers tickets; it never adds or deletes them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_PERMISSIONS = [
    ("support", "ticket", "view_ticket"),
    ("support", "ticket", "change_ticket"),
]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Support")
    group.permissions.add(
        *[
            Permission.objects.get(
                content_type__app_label=app, content_type__model=model, codename=codename
            )
            for app, model, codename in SUPPORT_PERMISSIONS
        ]
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Support").first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="support")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0001_tickets"),
        ("privacy", "0004_support_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
