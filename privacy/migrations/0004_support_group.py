"""The "Support" group: staff who work the data-request queue, and nothing else."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_PERMISSIONS = [
    ("privacy", "datarequest", "view_datarequest"),
    ("privacy", "datarequest", "change_datarequest"),
    ("privacy", "datarequest", "execute_erasure"),
    ("privacy", "dataexport", "view_dataexport"),
    ("privacy", "suppressedphone", "view_suppressedphone"),
    ("privacy", "suppressedphone", "add_suppressedphone"),
    ("accounts", "user", "view_user"),
]


def create_support_group(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Support")
    perms = [
        Permission.objects.get(
            content_type__app_label=app, content_type__model=model, codename=codename
        )
        for app, model, codename in SUPPORT_PERMISSIONS
    ]
    group.permissions.set(perms)


def remove_support_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Support").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0003_requests_exports_suppression"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_support_group, remove_support_group)]
