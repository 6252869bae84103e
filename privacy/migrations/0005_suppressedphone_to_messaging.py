"""The suppression list now belongs to messaging (messaging 0014 adds it to messaging's state,
on the same table). State only: the table `privacy_suppressedphone` stays as it is."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0004_support_group"),
        ("messaging", "0014_suppressedphone_from_privacy"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="SuppressedPhone")],
            database_operations=[],
        ),
    ]
