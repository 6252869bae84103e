"""Send windows across daylight-saving changes: an opening hour that happens twice is taken at
its first occurrence, one that does not happen opens at the first moment after the gap (only if
the window is still open then). Replaces the SQL function in place."""

from django.db import migrations

from messaging.engine.windows import FUNCTION_SQL


class Migration(migrations.Migration):
    dependencies = [("messaging", "0014_suppressedphone_from_privacy")]

    operations = [migrations.RunSQL(FUNCTION_SQL, migrations.RunSQL.noop)]
