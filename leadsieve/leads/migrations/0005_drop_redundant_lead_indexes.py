# Drops indexes that another index already serves (each one costs every captured lead a
# B-tree insert): lead_name_key (lead_name_company starts with name_key), the foreign-key
# indexes on lead.team and lead.owner (lead_team_status, lead_owner_status start with them),
# on activity.lead and leadchange.lead (activity_lead_time, leadchange_lead_time), and the two
# full indexes on lead.merged_into (Django's and lead_merged_into), replaced by lead_merged,
# which holds only merged leads. The foreign-key indexes are dropped by name: AlterField
# would rebuild the lead, activity and audit tables on SQLite.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FOREIGN_KEY_INDEXES = [
    ("leads_lead", "team_id", "leads_lead_team_id_93d3ec8e"),
    ("leads_lead", "owner_id", "leads_lead_owner_id_1f4568d0"),
    ("leads_lead", "merged_into_id", "leads_lead_merged_into_id_c068178b"),
    ("leads_activity", "lead_id", "leads_activity_lead_id_9cc33a14"),
    ("leads_leadchange", "lead_id", "leads_leadchange_lead_id_f04880fe"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('leads', '0004_add_lead_list_indexes'),
        ('stages', '0002_fill_default_stages'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_name_key',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_merged_into',
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='activity',
                    name='lead',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='activities', to='leads.lead'),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='merged_into',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='merged_leads', to='leads.lead'),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='owner',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='owned_leads', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='team',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='leads', to='accounts.team'),
                ),
                migrations.AlterField(
                    model_name='leadchange',
                    name='lead',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='changes', to='leads.lead'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{name}"' for _, _, name in FOREIGN_KEY_INDEXES],
                    [
                        f'CREATE INDEX "{name}" ON "{table}" ("{column}")'
                        for table, column, name in FOREIGN_KEY_INDEXES
                    ],
                ),
            ],
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('merged_into__isnull', False)), fields=['merged_into'], name='lead_merged'),
        ),
    ]
