"""One name per concept: the response-deadline tables say "deadline" like the UI and docs.

Renames only (tables, related names, index and constraint names); no row changes. Audit rows
written before keep the words they were written with (``via="sla"``, ``action="sla_breach"``).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("leads", "0011_open_lead_load_index"),
        ("routing", "0001_add_routing_and_sla"),
    ]

    operations = [
        migrations.RenameModel("SLAPolicy", "DeadlinePolicy"),
        migrations.RenameModel("LeadSLA", "LeadDeadline"),
        migrations.RenameModel("SLABreach", "DeadlineBreach"),
        migrations.AlterField(
            model_name="deadlinepolicy",
            name="team",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deadline_policies",
                to="accounts.team",
            ),
        ),
        migrations.AlterField(
            model_name="leaddeadline",
            name="lead",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deadline",
                to="leads.lead",
            ),
        ),
        migrations.AlterField(
            model_name="deadlinebreach",
            name="lead",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deadline_breaches",
                to="leads.lead",
            ),
        ),
        migrations.RenameIndex(
            model_name="leaddeadline", old_name="leadsla_first_due", new_name="deadline_first_due"
        ),
        migrations.RenameIndex(
            model_name="leaddeadline", old_name="leadsla_next_due", new_name="deadline_next_due"
        ),
        migrations.RenameIndex(
            model_name="deadlinebreach",
            old_name="slabreach_owner_time",
            new_name="deadlinebreach_owner_time",
        ),
        migrations.RemoveConstraint(model_name="deadlinepolicy", name="slapolicy_team_horizon"),
        migrations.AddConstraint(
            model_name="deadlinepolicy",
            constraint=models.UniqueConstraint(
                fields=("team", "horizon"), name="deadlinepolicy_team_horizon"
            ),
        ),
        migrations.RemoveConstraint(model_name="deadlinebreach", name="slabreach_once_per_level"),
        migrations.AddConstraint(
            model_name="deadlinebreach",
            constraint=models.UniqueConstraint(
                fields=("lead", "kind", "due_at", "level"), name="deadlinebreach_once_per_level"
            ),
        ),
    ]
