"""The board's kept counts: the StageCount table, the lead table's triggers that keep it, and
its first fill from the leads already there (see ``StageCount``)."""

from django.db import migrations, models

from leadsieve.stages.counts import (
    drop_count_triggers,
    install_count_triggers,
    recount_stage_counts,
)


def create_triggers(apps, schema_editor):
    install_count_triggers(schema_editor.connection)
    recount_stage_counts(schema_editor.connection)


def drop_triggers(apps, schema_editor):
    drop_count_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("stages", "0002_fill_default_stages"),
        ("leads", "0009_lists_walk_rating_nulls_last"),
    ]

    operations = [
        migrations.CreateModel(
            name="StageCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("team_id", models.BigIntegerField(null=True)),
                ("owner_id", models.BigIntegerField(null=True)),
                ("stage_id", models.BigIntegerField(null=True)),
                ("is_disqualified", models.BooleanField()),
                ("n", models.BigIntegerField()),
                ("value", models.DecimalField(decimal_places=2, max_digits=24)),
                ("weighted", models.DecimalField(decimal_places=2, max_digits=28)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["team_id", "stage_id"], name="stagecount_team_stage"),
                    models.Index(fields=["owner_id", "stage_id"], name="stagecount_owner_stage"),
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
