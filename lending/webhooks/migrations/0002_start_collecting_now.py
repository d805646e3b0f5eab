"""Start the collector's marks at the rows that exist when webhooks are installed: history is not replayed."""

from django.db import migrations
from django.db.models import Max


def start_now(apps, schema_editor):
    CollectCursor = apps.get_model("webhooks", "CollectCursor")
    sources = {"loan_events": apps.get_model("loans", "LoanEvent"), "repayments": apps.get_model("loans", "Repayment")}
    for name, model in sources.items():
        last = model.objects.aggregate(last=Max("pk"))["last"] or 0
        CollectCursor.objects.update_or_create(source=name, defaults={"last_id": last})


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("loans", "0004_drop_indexes_covered_by_unique_pairs"),
    ]

    operations = [migrations.RunPython(start_now, migrations.RunPython.noop)]
