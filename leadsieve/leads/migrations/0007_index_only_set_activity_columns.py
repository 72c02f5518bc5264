# Activity source, campaign and user and the audit row's user are indexed only where set
# (imports and API tokens record touches without a user or campaign), as leads/0006 does for
# the lead: the foreign-key indexes are dropped by name and replaced by partial ones.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FOREIGN_KEY_INDEXES = [
    ("leads_activity", "source_id", "leads_activity_source_id_3c8da8f8"),
    ("leads_activity", "campaign_id", "leads_activity_campaign_id_b5049e39"),
    ("leads_activity", "user_id", "leads_activity_user_id_83577c4d"),
    ("leads_leadchange", "user_id", "leads_leadchange_user_id_d5b75e57"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0006_index_only_set_lead_columns'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='activity',
                    name='campaign',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to='leads.campaign'),
                ),
                migrations.AlterField(
                    model_name='activity',
                    name='source',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to='leads.source'),
                ),
                migrations.AlterField(
                    model_name='activity',
                    name='user',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='leadchange',
                    name='user',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL),
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
            model_name='activity',
            index=models.Index(condition=models.Q(('source__isnull', False)), fields=['source'], name='activity_source'),
        ),
        migrations.AddIndex(
            model_name='activity',
            index=models.Index(condition=models.Q(('campaign__isnull', False)), fields=['campaign'], name='activity_campaign'),
        ),
        migrations.AddIndex(
            model_name='activity',
            index=models.Index(condition=models.Q(('user__isnull', False)), fields=['user'], name='activity_user'),
        ),
        migrations.AddIndex(
            model_name='leadchange',
            index=models.Index(condition=models.Q(('user__isnull', False)), fields=['user'], name='leadchange_user'),
        ),
    ]
