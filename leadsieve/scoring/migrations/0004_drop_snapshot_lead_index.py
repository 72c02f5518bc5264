"""Drop the snapshot table's own index on ``lead_id``: ``snapshot_lead_time`` (lead, at)
serves every lookup by lead, and the second index cost about a tenth of each snapshot's
insert in a rescoring pass.

Only the index is dropped (``AlterField`` would make SQLite copy the whole table).
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "scoring_scoresnapshot_lead_id_51fa21a6"  # the name Django gave it in 0001


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0003_add_backtest_run"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="scoresnapshot",
                    name="lead",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="snapshots",
                        to="leads.lead",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "scoring_scoresnapshot" ("lead_id")',
                ),
            ],
        ),
    ]
