"""PostgreSQL: the lead table's insert trigger counts a whole statement's leads at once
(a statement-level trigger over its transition table) instead of one delta row per lead.
The counts it keeps are the same; SQLite's triggers are unchanged."""

from django.db import migrations

from leadsieve.stages.counts import install_count_triggers


def reinstall_triggers(apps, schema_editor):
    install_count_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("stages", "0003_stage_counts"),
    ]

    operations = [
        migrations.RunPython(reinstall_triggers, migrations.RunPython.noop),
    ]
