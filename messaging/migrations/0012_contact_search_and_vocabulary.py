"""Contact search at scale and the workspace's vocabulary of tags and attribute names.

- pg_trgm GIN indexes let `icontains` searches on names and phone fragments skip the rows that
  cannot match (a rare name among a million contacts: 750 ms -> a few ms).
- `ContactVocabulary` is kept by a statement-level trigger with a transition table, so every
  writer (imports, the API, bulk tagging, automation, the admin) registers the names it writes
  in the same statement. No unique index, so no writer ever waits on another's new name.
"""

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import TrigramExtension
import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

VOCABULARY_SQL = """
CREATE FUNCTION messaging_contact_vocabulary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO messaging_contactvocabulary (workspace_id, kind, name)
    SELECT used.workspace_id, used.kind, used.name FROM (
        SELECT n.workspace_id, 'tag' AS kind, left(t.name, 100) AS name
        FROM new_rows n CROSS JOIN LATERAL unnest(n.tags) AS t(name)
        WHERE cardinality(n.tags) > 0
        UNION
        SELECT n.workspace_id, 'attribute', left(k.name, 100)
        FROM new_rows n CROSS JOIN LATERAL jsonb_object_keys(n.attributes) AS k(name)
        WHERE n.attributes <> '{}'::jsonb AND jsonb_typeof(n.attributes) = 'object'
    ) AS used
    WHERE NOT EXISTS (
        SELECT 1 FROM messaging_contactvocabulary v
        WHERE v.workspace_id = used.workspace_id AND v.kind = used.kind AND v.name = used.name
    );
    RETURN NULL;
END
$$;
CREATE TRIGGER messaging_contact_vocabulary_insert AFTER INSERT ON messaging_contact
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_contact_vocabulary();
CREATE TRIGGER messaging_contact_vocabulary_update AFTER UPDATE ON messaging_contact
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_contact_vocabulary();
INSERT INTO messaging_contactvocabulary (workspace_id, kind, name)
SELECT DISTINCT c.workspace_id, 'tag', left(t.name, 100)
FROM messaging_contact c CROSS JOIN LATERAL unnest(c.tags) AS t(name)
UNION
SELECT DISTINCT c.workspace_id, 'attribute', left(k.name, 100)
FROM messaging_contact c CROSS JOIN LATERAL jsonb_object_keys(c.attributes) AS k(name)
WHERE jsonb_typeof(c.attributes) = 'object';
"""
VOCABULARY_REVERSE_SQL = """
DROP TRIGGER IF EXISTS messaging_contact_vocabulary_insert ON messaging_contact;
DROP TRIGGER IF EXISTS messaging_contact_vocabulary_update ON messaging_contact;
DROP FUNCTION IF EXISTS messaging_contact_vocabulary();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_api_request_log"),
        ("messaging", "0011_message_foreign_keys_without_constraints"),
    ]

    operations = [
        TrigramExtension(),
        migrations.CreateModel(
            name="ContactVocabulary",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("tag", "Tag"), ("attribute", "Attribute")], max_length=16
                    ),
                ),
                ("name", models.CharField(max_length=100)),
            ],
        ),
        migrations.AddIndex(
            model_name="contact",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper("first_name"), name="gin_trgm_ops"
                ),
                name="messaging_contact_first_trgm",
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper("last_name"), name="gin_trgm_ops"
                ),
                name="messaging_contact_last_trgm",
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["phone"], name="messaging_contact_phone_trgm", opclasses=["gin_trgm_ops"]
            ),
        ),
        migrations.AddField(
            model_name="contactvocabulary",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.workspace",
            ),
        ),
        migrations.AddIndex(
            model_name="contactvocabulary",
            index=models.Index(
                fields=["workspace", "kind", "name"], name="messaging_vocabulary_name"
            ),
        ),
        migrations.RunSQL(VOCABULARY_SQL, reverse_sql=VOCABULARY_REVERSE_SQL),
    ]
