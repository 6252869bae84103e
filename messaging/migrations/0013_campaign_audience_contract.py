"""The audience contract: campaigns not yet sent that the builder saved as {"list", "tags"}
get the contract's names ({"list_id", "tags_any"}); a campaign already sent keeps the audience
it was recorded with. A pause reason for a fan-out that differs from the confirmed count."""

from django.db import migrations, models

UNSENT = ("draft", "scheduled", "launching")


def upgrade(stored):
    """Kept in the migration (not imported) so later code changes do not alter history."""
    if not isinstance(stored, dict) or not ({"list", "tags"} & set(stored)):
        return stored
    upgraded = {k: v for k, v in stored.items() if k not in ("list", "tags")}
    if stored.get("list"):
        upgraded["list_id"] = stored["list"]
    tags = stored.get("tags") or []
    if tags:
        if upgraded.get("tags_any"):
            upgraded["tags_all"] = sorted({*upgraded.get("tags_all", []), *tags})
        else:
            upgraded["tags_any"] = list(tags)
    return upgraded


def forwards(apps, schema_editor):
    Campaign = apps.get_model("messaging", "Campaign")
    Segment = apps.get_model("messaging", "Segment")
    for campaign in Campaign.objects.filter(status__in=UNSENT).only("id", "audience"):
        upgraded = upgrade(campaign.audience)
        if upgraded != campaign.audience:
            Campaign.objects.filter(pk=campaign.pk).update(audience=upgraded)
    for segment in Segment.objects.only("id", "filters"):
        upgraded = upgrade(segment.filters)
        if upgraded != segment.filters:
            Segment.objects.filter(pk=segment.pk).update(filters=upgraded)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0012_contact_search_and_vocabulary"),
    ]

    operations = [
        migrations.AlterField(
            model_name="campaign",
            name="pause_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "—"),
                    ("user", "Paused by a user"),
                    ("credits", "Not enough credits"),
                    ("breaker", "Too many failures"),
                    ("number_blocked", "A number was blocked"),
                    ("audience_changed", "The audience differs from what was confirmed"),
                ],
                default="",
                max_length=16,
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
