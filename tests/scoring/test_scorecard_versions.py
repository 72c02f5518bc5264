from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from leadsieve.engine.defaults import default_scorecard
from leadsieve.scoring.admin import ScorecardVersionForm
from leadsieve.scoring.models import ScorecardVersion
from leadsieve.scoring.queries import get_active_scoring
from leadsieve.scoring.services import (
    create_scorecard_draft,
    publish_scorecard,
    validate_scorecard_config,
)


def bad_config() -> dict:
    config = default_scorecard().to_dict()
    config["criteria"][0]["column"] = "shoe_size"
    return config


def test_it_rejects_a_config_naming_an_unknown_column(db):
    with pytest.raises(ValidationError, match=r"size_mid.*shoe_size"):
        validate_scorecard_config(bad_config())


def test_it_rejects_configs_that_are_not_objects_or_miss_keys(db):
    with pytest.raises(ValidationError, match="JSON object"):
        validate_scorecard_config([1, 2])
    with pytest.raises(ValidationError, match="misses the key 'criteria'"):
        validate_scorecard_config({"caps": []})


def test_the_admin_form_shows_the_engine_error(db):
    form = ScorecardVersionForm(
        data={"number": 5, "config": __import__("json").dumps(bad_config())}
    )
    assert not form.is_valid()
    assert "shoe_size" in str(form.errors["config"])


def test_a_fresh_install_has_the_default_scorecard_active(db):
    version = ScorecardVersion.objects.get()
    assert version.number == 1 and version.is_active()
    assert version.config == default_scorecard().to_dict()


def test_publishing_archives_the_previous_version_and_refreshes_the_cache(db):
    first = get_active_scoring()
    draft = create_scorecard_draft(default_scorecard().to_dict(), note="copy")
    assert draft.number == 2 and draft.status == "draft"
    publish_scorecard(draft)
    statuses = dict(ScorecardVersion.objects.values_list("number", "status"))
    assert statuses == {1: "archived", 2: "active"}
    assert get_active_scoring().scorecard_number == 2
    assert first.scorecard_number == 1


def test_the_publish_command_refuses_unknown_versions(db):
    with pytest.raises(CommandError, match="no scorecard version 7"):
        call_command("publish_scorecard", "7")


def test_the_publish_command_publishes_and_rescores(make_lead, capsys):
    lead = make_lead()
    draft = create_scorecard_draft(default_scorecard().to_dict())
    call_command("publish_scorecard", str(draft.number))
    lead.refresh_from_db()
    assert lead.scorecard_version == 2
    assert "scorecard v2 is active" in capsys.readouterr().out


def test_the_admin_keeps_published_versions_read_only(admin_user, client):
    client.force_login(admin_user)
    active = ScorecardVersion.objects.get(status="active")
    page = client.get(f"/admin/scoring/scorecardversion/{active.pk}/change/")
    assert page.status_code == 200
    assert 'name="config"' not in page.content.decode()
    draft = create_scorecard_draft(default_scorecard().to_dict())
    page = client.get(f"/admin/scoring/scorecardversion/{draft.pk}/change/")
    assert 'name="config"' in page.content.decode()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.update(criteria=[1]),
        lambda c: c.update(criteria="abc"),
        lambda c: c.update(grade_bands="x"),
        lambda c: c.update(horizon=[]),
        lambda c: c["criteria"][0].update(points="many"),
        lambda c: c["criteria"][0].update(activity=5),
    ],
)
def test_it_turns_any_malformed_config_into_a_validation_error(db, mutate):
    config = default_scorecard().to_dict()
    mutate(config)
    with pytest.raises(ValidationError):
        validate_scorecard_config(config)
