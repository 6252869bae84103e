from django.db import migrations

from messaging.engine.windows import DROP_FUNCTION_SQL, FUNCTION_SQL


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_message_stats")]

    # Send windows are applied in SQL (fan-out and claim) through this function.
    operations = [migrations.RunSQL(FUNCTION_SQL, DROP_FUNCTION_SQL)]
