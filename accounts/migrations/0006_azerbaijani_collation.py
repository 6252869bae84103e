"""An ICU collation for sorting names the Azerbaijani way (core.queries.NAME_COLLATION).

PostgreSQL ships ICU collations ("az-x-icu") when it is built with ICU, but only in databases
created after initdb imported them; our own name, created here, exists wherever the migrations
ran. It is deterministic, so equality and unique constraints keep their byte meaning."""

from django.contrib.postgres.operations import CreateCollation
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_user_language_workspace_contact_language"),
    ]

    operations = [
        CreateCollation("isend_az", provider="icu", locale="az"),
    ]
