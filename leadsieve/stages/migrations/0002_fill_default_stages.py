"""Default pipeline stages for a fresh install (editable in the admin)."""

from __future__ import annotations

from django.db import migrations

DEFAULT_STAGES = [
    # name, slug, probability, is_won, is_lost
    ("New", "new", 5, False, False),
    ("Contacted", "contacted", 10, False, False),
    ("Appointment set", "appointment", 25, False, False),
    ("Proposal", "proposal", 50, False, False),
    ("Negotiation", "negotiation", 75, False, False),
    ("Won", "won", 100, True, False),
    ("Lost", "lost", 0, False, True),
]


def fill_default_stages(apps, schema_editor):
    Stage = apps.get_model("stages", "Stage")
    for position, (name, slug, probability, is_won, is_lost) in enumerate(DEFAULT_STAGES):
        Stage.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "position": position * 10,
                "probability": probability,
                "is_won": is_won,
                "is_lost": is_lost,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("stages", "0001_initial")]
    operations = [migrations.RunPython(fill_default_stages, migrations.RunPython.noop)]
