"""Default credit packages, so a fresh install has something on sale (staff edit them in admin).

Prices are in AZN, VAT included (as `Package.price` says); one credit is one message. Created
only when no package exists at all, so a site whose staff already set prices is left alone."""

from decimal import Decimal

from django.db import migrations

DEFAULT_PACKAGES = [
    # name, credits, validity days, price (AZN, VAT included)
    ("Start", 1_000, 30, Decimal("25.00")),
    ("Business", 5_000, 90, Decimal("110.00")),
    ("Pro", 20_000, 180, Decimal("400.00")),
    ("Enterprise", 100_000, 365, Decimal("1800.00")),
]


def create_default_packages(apps, schema_editor):
    Package = apps.get_model("billing", "Package")
    if Package.objects.exists():
        return
    Package.objects.bulk_create(
        Package(
            name=name,
            credits=credits,
            validity_days=days,
            price=price,
            currency="AZN",
            is_active=True,
            sort_order=index * 10,
        )
        for index, (name, credits, days, price) in enumerate(DEFAULT_PACKAGES)
    )


def remove_unused_default_packages(apps, schema_editor):
    Package = apps.get_model("billing", "Package")
    names = [name for name, *_rest in DEFAULT_PACKAGES]
    Package.objects.filter(name__in=names, orders__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_ledger_refund"),
    ]

    operations = [
        migrations.RunPython(create_default_packages, remove_unused_default_packages),
    ]
