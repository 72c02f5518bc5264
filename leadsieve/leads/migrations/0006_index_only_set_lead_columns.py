# Indexes on lead columns that are usually empty hold only the rows where the column is set
# (team, owner, source, campaign, stage, external id; the list indexes of 0004 also need a
# team or an owner): every query on them asks for one value, which implies the condition, and
# a captured lead without them skips those B-trees. The foreign-key indexes on source,
# campaign and stage are dropped by name (AlterField would rebuild the lead table on SQLite)
# and replaced by lead_source, lead_campaign and lead_stage.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FOREIGN_KEY_INDEXES = [
    ("leads_lead", "campaign_id", "leads_lead_campaign_id_5dd7a82a"),
    ("leads_lead", "source_id", "leads_lead_source_id_a5f74de9"),
    ("leads_lead", "stage_id", "leads_lead_stage_id_75332acb"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('leads', '0005_drop_redundant_lead_indexes'),
        ('stages', '0002_fill_default_stages'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_external_id',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_owner_status',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_team_status',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_team_rating',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_team_status_rating',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_owner_rating',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_team_unassigned_rating',
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='lead',
                    name='campaign',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='leads', to='leads.campaign'),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='source',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='leads', to='leads.source'),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='stage',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='leads', to='stages.stage'),
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
            index=models.Index(condition=models.Q(('external_id', ''), _negated=True), fields=['external_id'], name='lead_external_id'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('owner__isnull', False)), fields=['owner', 'status'], name='lead_owner_status'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('team__isnull', False)), fields=['team', 'status'], name='lead_team_status'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('source__isnull', False)), fields=['source'], name='lead_source'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('campaign__isnull', False)), fields=['campaign'], name='lead_campaign'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('stage__isnull', False)), fields=['stage'], name='lead_stage'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(models.F('team'), models.OrderBy(models.F('rating'), descending=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('merged_into__isnull', True), ('team__isnull', False)), name='lead_team_rating'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(models.F('team'), models.F('status'), models.OrderBy(models.F('rating'), descending=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('merged_into__isnull', True), ('team__isnull', False)), name='lead_team_status_rating'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(models.F('owner'), models.OrderBy(models.F('rating'), descending=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('merged_into__isnull', True), ('owner__isnull', False)), name='lead_owner_rating'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(models.F('team'), models.OrderBy(models.F('rating'), descending=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('merged_into__isnull', True), ('owner__isnull', True), ('team__isnull', False)), name='lead_team_unassigned_rating'),
        ),
    ]
