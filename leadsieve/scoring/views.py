"""The scorecard pages: read the active version, edit a draft, backtest it, publish it.

There is one scorecard for the whole installation (the team's one procedure, issue 3), so
every signed-in person may read the published versions (they explain the ratings), while only
managers and admins may see drafts, run backtests and change anything: a rep gets 403.
Views stay thin: load, check the role, validate with a form, call one ``drafts`` service.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadsieve.accounts.models import is_manager_or_admin
from leadsieve.accounts.views import workspace_login_required
from leadsieve.leads.models import LOW_RATING
from leadsieve.leads.queries import count_qualified_rated_low
from leadsieve.scoring import drafts
from leadsieve.scoring.forms import (
    BacktestForm,
    BaseCapFormSet,
    CapFormSet,
    CriterionForm,
    DraftForm,
    InterestRulesForm,
    PublishForm,
    RemoveCriterionForm,
    ThresholdsForm,
    cap_initial,
)
from leadsieve.scoring.models import BacktestRun, ScorecardStatus, ScorecardVersion
from leadsieve.scoring.queries import (
    NoActiveScorecard,
    get_active_model_version,
    get_active_scorecard_version,
    list_scorecard_versions,
)

BACKTEST_TARGET = "backtest"
METRICS: tuple[tuple[str, str, str], ...] = (
    ("roc_auc", "ROC-AUC", "higher"),
    ("pr_auc", "PR-AUC", "higher"),
    ("log_loss", "Log-loss", "lower"),
    ("brier", "Brier score", "lower"),
    ("ece", "ECE (calibration error)", "lower"),
    ("max_band_gap_pts", "Largest rating band gap (points)", "lower"),
)
DEFAULT_BACKTEST_DAYS = 365


def is_scorecard_editor(user: Any) -> bool:  # Any: the user model or AnonymousUser
    """Managers and admins edit the scorecard; reps only read its published versions."""
    return is_manager_or_admin(user)


def _require_editor(request: HttpRequest) -> None:
    if not is_scorecard_editor(request.user):
        raise PermissionDenied("Only managers and admins change the scorecard.")


def _version(request: HttpRequest, number: int) -> ScorecardVersion:
    """A version by number; drafts exist only for editors (a rep gets 403)."""
    version = get_object_or_404(ScorecardVersion, number=number)
    if version.status == ScorecardStatus.DRAFT:
        _require_editor(request)
    return version


def _draft(request: HttpRequest, number: int) -> ScorecardVersion:
    """A draft for an editor; a published version is 404 here (it is never edited)."""
    _require_editor(request)
    version = get_object_or_404(ScorecardVersion, number=number)
    if version.status != ScorecardStatus.DRAFT:
        raise Http404("Only drafts are edited.")
    return version


def _version_context(version: ScorecardVersion) -> dict[str, Any]:  # Any: template context
    config = version.config
    rows = drafts.list_criterion_rows(config)
    return {
        "version": version,
        "config": config,
        "thresholds": [
            (rule["status"], drafts.rule_words(rule)) for rule in config.get("thresholds", [])
        ],
        "criteria": [r for r in rows if r.dimension != "disqualify"],
        "disqualifiers": [r for r in rows if r.dimension == "disqualify"],
        "nav": "scorecard",
    }


def _draft_context(
    request: HttpRequest, draft: ScorecardVersion, **forms: Any
) -> dict[str, Any]:  # Any: forms and template context
    config = draft.config
    today = timezone.localdate()
    context = _version_context(draft)
    context.update(
        {
            "is_editable": True,
            "caps_formset": forms.get("caps_formset")
            or CapFormSet(initial=cap_initial(config), prefix="caps"),
            "decay_form": forms.get("decay_form")
            or InterestRulesForm(initial=InterestRulesForm.initial_for(config)),
            "thresholds_form": forms.get("thresholds_form")
            or ThresholdsForm(initial=ThresholdsForm.initial_for(config)),
            "backtest_form": forms.get("backtest_form")
            or BacktestForm(
                initial={
                    "date_from": today - timedelta(days=DEFAULT_BACKTEST_DAYS),
                    "date_to": today,
                    "days_after_creation": 0,
                }
            ),
            "runs": drafts.list_backtest_runs(draft),
        }
    )
    context.update(_changes_context(draft))
    return context


def _changes_context(draft: ScorecardVersion) -> dict[str, Any]:  # Any: template context
    """The draft's changes from the active version, for the editor and the publish page."""
    try:
        active = get_active_scorecard_version()
    except NoActiveScorecard:
        return {"changes": None, "active": None}
    return {"changes": drafts.list_changes(active.config, draft.config), "active": active}


def _render_draft(
    request: HttpRequest, draft: ScorecardVersion, *, status: int = 200, **forms: Any
) -> HttpResponse:
    context = _draft_context(request, draft, **forms)
    return render(request, "scoring/version.html", context, status=status)


def _draft_url(draft: ScorecardVersion) -> str:
    return reverse("scoring:version", args=[draft.number])


def _not_a_draft(request: HttpRequest, draft: ScorecardVersion, error: Exception) -> HttpResponse:
    messages.error(request, f"Nothing changed: {error}. Published versions are never edited.")
    return HttpResponseRedirect(reverse("scoring:scorecard"))


# --- Reading ---------------------------------------------------------------------------------


@workspace_login_required
@require_GET
def scorecard(request: HttpRequest) -> HttpResponse:
    """The active version in full, with the drafts (editors) and the history."""
    try:
        active = get_active_scorecard_version()
    except NoActiveScorecard:
        return render(request, "scoring/no_active.html", {"nav": "scorecard"})
    context = _version_context(active)
    versions = list(list_scorecard_versions().select_related("created_by"))
    is_editor = is_scorecard_editor(request.user)
    context.update(
        {
            "is_editor": is_editor,
            "drafts": [v for v in versions if v.status == ScorecardStatus.DRAFT]
            if is_editor
            else [],
            "history": [v for v in versions if v.status == ScorecardStatus.ARCHIVED],
            "draft_form": DraftForm(),
            "model_version": get_active_model_version(),
            "rated_low": count_qualified_rated_low(request.user),
            "low_rating": LOW_RATING,
        }
    )
    return render(request, "scoring/scorecard.html", context)


@workspace_login_required
@require_GET
def version(request: HttpRequest, number: int) -> HttpResponse:
    """One version: read-only when published, the editor when it is a draft."""
    found = _version(request, number)
    if found.status == ScorecardStatus.DRAFT:
        return _render_draft(request, found)
    context = _version_context(found)
    context["is_editable"] = False
    context["can_copy"] = is_scorecard_editor(request.user)
    return render(request, "scoring/version.html", context)


# --- Drafts ----------------------------------------------------------------------------------


@workspace_login_required
@require_POST
def create_draft(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    form = DraftForm(request.POST)
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form[name].label if name in form.fields else "Draft"
            messages.error(request, f"{label}: {'; '.join(str(e) for e in errors)}")
        return HttpResponseRedirect(reverse("scoring:scorecard"))
    number = form.cleaned_data["source"]
    source = get_object_or_404(ScorecardVersion, number=number) if number else None
    draft = drafts.create_draft_from_active(
        user=request.user, note=form.cleaned_data["note"], source=source
    )
    origin = f"v{source.number}" if source else "the active version"
    messages.success(request, f"Draft v{draft.number} created from {origin}.")
    return HttpResponseRedirect(_draft_url(draft))


def _engine_error_field(message: str) -> str | None:
    """Which form field an engine message is about (``None``: the whole criterion).

    The engine prefixes its messages with "criterion '<name>': "; only the part after it is
    read, so a criterion called ``column_x`` does not send every error to the field chooser.
    """
    detail = message.split("': ", 1)[-1]
    for word, field in (
        ("name", "name"),
        ("column", "field"),
        ("operator", "operator"),
        ("range", "min"),
        ("points", "points"),
        ("dimension", "dimension"),
        ("activity", "activity_kind"),
        ("min_count", "min_count"),
        ("value", "value"),
    ):
        if word in detail:
            return field
    return None


@workspace_login_required
@require_http_methods(["GET", "POST"])
def edit_criterion(request: HttpRequest, number: int, name: str | None = None) -> HttpResponse:
    """Add a criterion (no ``name``) or edit the one called ``name``."""
    draft = _draft(request, number)
    options = drafts.list_field_options()
    existing = next((c for c in draft.config.get("criteria", []) if c["name"] == name), None)
    if name is not None and existing is None:
        raise Http404("No such criterion in this draft.")
    if request.method == "POST":
        form = CriterionForm(request.POST, field_options=options)
        if form.is_valid():
            try:
                drafts.save_criterion(draft, form.to_criterion(), replace=name)
            except drafts.NotADraft as error:
                return _not_a_draft(request, draft, error)
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(_engine_error_field(message), message)
            else:
                criterion = form.cleaned_data["name"]
                messages.success(request, f"Criterion “{criterion}” saved in v{draft.number}.")
                return HttpResponseRedirect(f"{_draft_url(draft)}#criteria")
        status = 400
    else:
        initial = CriterionForm.initial_for(existing) if existing else {"points": 0, "min_count": 1}
        form = CriterionForm(initial=initial, field_options=options)
        status = 200
    context = {"version": draft, "form": form, "name": name, "nav": "scorecard"}
    return render(request, "scoring/criterion_form.html", context, status=status)


@workspace_login_required
@require_POST
def remove_criterion(request: HttpRequest, number: int) -> HttpResponse:
    draft = _draft(request, number)
    form = RemoveCriterionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name: choose the criterion to remove.")
        return HttpResponseRedirect(_draft_url(draft))
    try:
        drafts.remove_criterion(draft, form.cleaned_data["name"])
    except drafts.NotADraft as error:
        return _not_a_draft(request, draft, error)
    except ValidationError as error:
        messages.error(request, f"Name: {'; '.join(error.messages)}")
    else:
        messages.success(request, f"Criterion “{form.cleaned_data['name']}” removed.")
    return HttpResponseRedirect(f"{_draft_url(draft)}#criteria")


def _engine_errors_to(form: Any, error: ValidationError) -> None:  # Any: a form or formset
    for message in error.messages:
        if hasattr(form, "add_error"):
            form.add_error(None, message)
        else:
            form.non_form_errors().append(message)


def _save_part(
    request: HttpRequest,
    draft: ScorecardVersion,
    form: Any,  # Any: a form or a formset
    save: Callable[[], Any],
    *,
    done: str,
    anchor: str,
    context_key: str,
) -> HttpResponse:
    """Save one part of a draft from a valid ``form``; the engine's refusal lands on the form."""
    if form.is_valid():
        try:
            save()
        except drafts.NotADraft as error:
            return _not_a_draft(request, draft, error)
        except ValidationError as error:
            _engine_errors_to(form, error)
        else:
            messages.success(request, done)
            return HttpResponseRedirect(f"{_draft_url(draft)}#{anchor}")
    return _render_draft(request, draft, status=400, **{context_key: form})


@workspace_login_required
@require_POST
def save_caps(request: HttpRequest, number: int) -> HttpResponse:
    draft = _draft(request, number)
    formset = CapFormSet(request.POST, prefix="caps")
    assert isinstance(formset, BaseCapFormSet)
    return _save_part(
        request,
        draft,
        formset,
        lambda: drafts.set_caps(draft, formset.to_caps()),
        done="Caps saved.",
        anchor="caps",
        context_key="caps_formset",
    )


@workspace_login_required
@require_POST
def save_decay(request: HttpRequest, number: int) -> HttpResponse:
    draft = _draft(request, number)
    form = InterestRulesForm(request.POST)
    return _save_part(
        request,
        draft,
        form,
        lambda: drafts.set_interest_rules(draft, form.to_rules()),
        done="Interest decay saved.",
        anchor="decay",
        context_key="decay_form",
    )


@workspace_login_required
@require_POST
def save_thresholds(request: HttpRequest, number: int) -> HttpResponse:
    draft = _draft(request, number)
    form = ThresholdsForm(request.POST)
    return _save_part(
        request,
        draft,
        form,
        lambda: drafts.set_thresholds(
            draft, thresholds=form.to_thresholds(), grade_bands=form.to_grade_bands()
        ),
        done="Thresholds and grade bands saved.",
        anchor="thresholds",
        context_key="thresholds_form",
    )


# --- Backtests -------------------------------------------------------------------------------


@workspace_login_required
@require_POST
def start_backtest(request: HttpRequest, number: int) -> HttpResponse:
    draft = _draft(request, number)
    form = BacktestForm(request.POST)
    if not form.is_valid():
        return _render_draft(request, draft, status=400, backtest_form=form)
    start, end = form.period()
    run = drafts.start_backtest(
        draft,
        period_start=start,
        period_end=end,
        days_after_creation=form.days(),
        user=request.user,
    )
    return HttpResponseRedirect(reverse("scoring:backtest", args=[run.pk]))


def _run(request: HttpRequest, run_id: int) -> BacktestRun:
    _require_editor(request)
    run = get_object_or_404(BacktestRun.objects.select_related("version"), pk=run_id)
    return drafts.notice_stopped_backtest(run)


def _run_subjects(run: BacktestRun) -> list[dict[str, Any]]:  # Any: stored JSON
    """Per subject the stored result, with the chart index for its URL."""
    return [
        {**subject, "index": index} for index, subject in enumerate(run.result.get("subjects", []))
    ]


def _metric_rows(subjects: list[dict[str, Any]]) -> list[dict[str, Any]]:  # Any: stored JSON
    """Metrics as rows, subjects as columns (the draft next to the active version)."""
    rows: list[dict[str, Any]] = []  # Any: mixed cells
    for key, label, better in METRICS:
        values = [(s.get("metrics") or {}).get(key) for s in subjects]
        rows.append({"label": label, "better": better, "values": values})
    for key, label in (("precision", "MQL precision"), ("recall", "MQL recall")):
        values = [(s.get("mql") or {}).get(key) for s in subjects]
        rows.append({"label": label, "better": "higher", "values": values})
    for row in rows:
        known = [v for v in row["values"] if v is not None]
        best = (max if row["better"] == "higher" else min)(known) if known else None
        # Highlight only a strict winner: ties (or a single subject) mark nothing.
        is_unique = len(known) > 1 and known.count(best) == 1
        row["best"] = row["values"].index(best) if is_unique else None
    return rows


def _table(subjects: list[dict[str, Any]], key: str, label_key: str) -> list[dict[str, Any]]:
    """Rows of one report table (bands, grades, deciles) with one cell per subject."""
    labels: list[Any] = []  # Any: band text, grade letter or decile number
    cells: dict[Any, list[dict[str, Any] | None]] = {}
    for position, subject in enumerate(subjects):
        for row in subject.get(key, []):
            label = row.get(label_key)
            if label not in cells:
                labels.append(label)
                cells[label] = [None] * len(subjects)
            cells[label][position] = row
    return [{"label": label, "cells": cells[label]} for label in labels]


@workspace_login_required
@require_GET
def backtest(request: HttpRequest, run_id: int) -> HttpResponse:
    """A backtest run: its progress while it runs, then every metric next to each other."""
    run = _run(request, run_id)
    subjects = _run_subjects(run)
    context = {
        "run": run,
        "version": run.version,
        "subjects": subjects,
        "metric_rows": _metric_rows(subjects),
        "band_rows": _table(subjects, "bands", "rating_band"),
        "grade_subjects": [s for s in subjects if s.get("grades")],
        "grade_rows": _table([s for s in subjects if s.get("grades")], "grades", "fit_grade"),
        "lift_rows": _table(subjects, "lift", "decile"),
        "elapsed": (timezone.now() - (run.started_at or run.created_at)).total_seconds(),
        "nav": "scorecard",
    }
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == BACKTEST_TARGET:
        return render(request, "scoring/_backtest_result.html", context)
    return render(request, "scoring/backtest.html", context)


@workspace_login_required
@require_GET
def backtest_chart(request: HttpRequest, run_id: int, index: int) -> HttpResponse:
    """A stored calibration chart as an SVG image (its own sandbox: no scripts run)."""
    run = _run(request, run_id)
    subjects = run.result.get("subjects", [])
    if not 0 <= index < len(subjects):
        raise Http404("No such chart.")
    response = HttpResponse(subjects[index]["svg"], content_type="image/svg+xml")
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@workspace_login_required
@require_GET
def backtest_csv(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    if "csv" not in run.result:
        raise Http404("This backtest has no result yet.")
    response = HttpResponse(run.result["csv"], content_type="text/csv; charset=utf-8")
    filename = f"backtest-v{run.version.number}-{run.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Publishing ------------------------------------------------------------------------------


@workspace_login_required
@require_http_methods(["GET", "POST"])
def publish(request: HttpRequest, number: int) -> HttpResponse:
    """Confirm (GET shows what will happen), then publish with a note and rescore."""
    draft = _draft(request, number)
    changes = _changes_context(draft)
    if request.method == "POST":
        form = PublishForm(request.POST)
        if form.is_valid():
            try:
                outcome = drafts.publish_draft(
                    draft, user=request.user, note=form.cleaned_data["note"]
                )
            except drafts.NotADraft as error:
                return _not_a_draft(request, draft, error)
            if outcome.is_rescore_queued:
                rescored = "open leads are being rescored in the background"
            else:
                rescored = f"{outcome.n_rescored} open leads rescored"
            kept = f"v{changes['active'].number} is kept as history; " if changes["active"] else ""
            messages.success(
                request, f"Scorecard v{outcome.version.number} is active; {kept}{rescored}."
            )
            return HttpResponseRedirect(reverse("scoring:scorecard"))
        status = 400
    else:
        form = PublishForm(initial={"note": draft.note})
        status = 200
    context = {
        **changes,
        "version": draft,
        "form": form,
        "last_run": next(iter(drafts.list_backtest_runs(draft, limit=1)), None),
        "nav": "scorecard",
    }
    return render(request, "scoring/publish.html", context, status=status)
