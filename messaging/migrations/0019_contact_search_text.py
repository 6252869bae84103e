"""Contact search that folds Azerbaijani letters and accents ("shirinova", "şirinova" and
"sirinova" all find "Şirinova"; "mammadov" and "memmedov" both find "Məmmədov").

One fold, in SQL, used on both sides: `isend_search_fold(text)` for what a person types (the
search's WHERE clause calls it on the term; it is IMMUTABLE, so the planner folds the constant
and the trigram index still applies) and `isend_contact_search_text(first, last)` for the
stored column, which a trigger keeps up to date on every insert and every name change, whatever
writes the row (the import's bulk upsert, the API, admin, an erasure). The letter table is
anyascii's transliteration of Latin-1, Latin Extended-A and Ə/ə, frozen here; the digraphs
sh/ch/gh/kh are folded to s/c/g/x on both sides because Azerbaijani names are written both ways
("Şirinova"/"Shirinova", "Ağa"/"Agha", "Xəlilov"/"Khalilov"). ə is stored as "e" (anyascii) and
again as "a" (the passport spelling: "Məmmədov" -> "Mammadov").
"""

import django.contrib.postgres.indexes
from django.db import migrations, models

FOLD_FROM = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïðñòóôõöøùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪīĬĭĮįİıĴĵĶķĸĹĺĻļĽľĿŀŁłŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŧŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƏə"
FOLD_TO = "AAAAAACEEEEIIIIDNOOOOOOUUUUYaaaaaaceeeeiiiidnoooooouuuuyyAaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiJjKkqLlLlLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzsEe"

CREATE = (
    """
CREATE OR REPLACE FUNCTION isend_search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT btrim(regexp_replace(
    replace(replace(replace(replace(
      lower(translate(value, '"""
    + FOLD_FROM
    + """', '"""
    + FOLD_TO
    + """')),
    'sh', 's'), 'ch', 'c'), 'gh', 'g'), 'kh', 'x'),
    '\\s+', ' ', 'g'))
$$;

CREATE OR REPLACE FUNCTION isend_contact_search_text(first_name text, last_name text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT isend_search_fold(coalesce(first_name, '') || ' ' || coalesce(last_name, ''))
    || CASE WHEN coalesce(first_name, '') || coalesce(last_name, '') ~ '[Əə]'
       THEN ' | ' || isend_search_fold(
         translate(coalesce(first_name, '') || ' ' || coalesce(last_name, ''), 'Əə', 'Aa'))
       ELSE '' END
$$;

CREATE OR REPLACE FUNCTION messaging_contact_search_text_set() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_text := isend_contact_search_text(NEW.first_name, NEW.last_name);
  RETURN NEW;
END
$$;

CREATE TRIGGER messaging_contact_search_text
BEFORE INSERT OR UPDATE OF first_name, last_name, search_text ON messaging_contact
FOR EACH ROW EXECUTE FUNCTION messaging_contact_search_text_set();

UPDATE messaging_contact SET search_text = isend_contact_search_text(first_name, last_name);
"""
)

DROP = """
DROP TRIGGER IF EXISTS messaging_contact_search_text ON messaging_contact;
DROP FUNCTION IF EXISTS messaging_contact_search_text_set();
DROP FUNCTION IF EXISTS isend_contact_search_text(text, text);
DROP FUNCTION IF EXISTS isend_search_fold(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0018_webhook_event_attempts"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="contact",
            name="messaging_contact_first_trgm",
        ),
        migrations.RemoveIndex(
            model_name="contact",
            name="messaging_contact_last_trgm",
        ),
        migrations.AddField(
            model_name="contact",
            name="search_text",
            field=models.TextField(blank=True, db_default="", default="", editable=False),
        ),
        migrations.RunSQL(CREATE, DROP),
        migrations.AddIndex(
            model_name="contact",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_text"],
                name="messaging_contact_search_trgm",
                opclasses=["gin_trgm_ops"],
            ),
        ),
    ]
