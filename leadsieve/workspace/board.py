"""The pipeline board: leads per stage, and moving a card to another stage.

A move goes through the same form rules and the same service as the lead page
(``move_lead``: history recorded; won or lost closes the lead through ``close_lead``). With
htmx the board comes back as a fragment, so the two columns show their new counts; without
JavaScript the card's "Move to" form posts and the board reloads.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html_join
from django.views.decorators.http import require_GET, require_POST

from leadsieve.accounts.models import User
from leadsieve.accounts.views import workspace_login_required
from leadsieve.leads.queries import (
    InvalidCursor,
    decode_cursor,
    get_lead_for_user,
    list_assignable_owners_for_user,
)
from leadsieve.segments.filters import NOT_DISQUALIFIED
from leadsieve.segments.queries import list_segments_for_user
from leadsieve.segments.views import describe_errors
from leadsieve.stages.models import Stage
from leadsieve.stages.outcomes import OutcomeError, move_lead
from leadsieve.workspace.board_forms import BOARD_KEYS, BoardFilterForm, BoardMoveForm
from leadsieve.workspace.queries import BOARD_SORT, list_board_column, list_board_for_user

BOARD_TARGET = "board"


def _board_form(request: HttpRequest, data: QueryDict | None) -> BoardFilterForm:
    user = request.user
    assert isinstance(user, User)
    owners = list(list_assignable_owners_for_user(user))
    segments = list(list_segments_for_user(user))
    return BoardFilterForm(data, user=user, owners=owners, segments=segments)


def _board_query(data: QueryDict) -> str:
    """The board's own keys of ``data`` (filters of the page or a move's hidden inputs)."""
    return urlencode([(key, data[key]) for key in BOARD_KEYS if data.get(key)])


def _stage_options(stages: list[Stage], current: Stage) -> str:
    """The "Move to" menu's options of one column, rendered once for all of its cards.

    Rendering them per card in the template costs every card x every stage per column;
    ``format_html_join`` escapes each stage name.
    """
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((stage.pk, " selected" if stage.pk == current.pk else "", stage.name) for stage in stages),
    )


def _list_query(query: str) -> str:
    """The lead list's query of a column's "all in the list" link: the board's filters."""
    return "&".join(part for part in (f"status={NOT_DISQUALIFIED}", query) if part)


def _render_board(request: HttpRequest, form: BoardFilterForm, query: str) -> HttpResponse:
    valid = form.is_valid()
    columns = list_board_for_user(request.user, form.to_filters()) if valid else []
    context: dict[str, Any] = {
        "form": form,
        "columns": columns,
        "board": [
            (column, _stage_options([c.stage for c in columns], column.stage)) for column in columns
        ],
        "nav": "board",
        "query": query,
        # "All in the list" opens the list on the column's stage with the board's filters.
        "list_query": _list_query(query),
        "keys": QueryDict(query),
    }
    htmx = getattr(request, "htmx", None)
    is_fragment = (
        htmx is not None and bool(htmx) and not htmx.boosted and htmx.target == BOARD_TARGET
    )
    template = "workspace/_board.html" if is_fragment else "workspace/board.html"
    # htmx swaps only 2xx responses: a fragment reports a bad filter with a 200.
    status = 200 if valid or is_fragment else 400
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@workspace_login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    form = _board_form(request, request.GET)
    return _render_board(request, form, _board_query(request.GET))


@workspace_login_required
@require_GET
def board_column(request: HttpRequest, stage_id: int) -> HttpResponse:
    """A column's next cards after ``cursor`` (its "show more"), with the board's filters."""
    stage = get_object_or_404(Stage, pk=stage_id, is_active=True)
    form = _board_form(request, request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            f"This board cannot be shown: {describe_errors(form, 'Board')}"
        )
    try:
        after = decode_cursor(BOARD_SORT, request.GET.get("cursor", ""))
    except InvalidCursor as error:
        return HttpResponseBadRequest(f"These cards cannot be shown: {error}.")
    page = list_board_column(request.user, form.to_filters(), stage, after=after)
    stages = list(Stage.objects.filter(is_active=True))
    query = _board_query(request.GET)
    context = {
        "leads": page.leads,
        "stage": stage,
        "next_cursor": page.next_cursor,
        "options": _stage_options(stages, stage),
        "keys": QueryDict(query),
        "query": query,
        "list_query": _list_query(query),
        "list_url": reverse("leads:list"),
        "board_url": reverse("stages:board"),
    }
    return render(request, "workspace/_board_cards.html", context)


@workspace_login_required
@require_POST
def board_move(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, lead_id)
    form = BoardMoveForm(request.POST)
    if form.is_valid():
        stage = form.cleaned_data["stage"]
        try:
            change = move_lead(lead, stage, user=request.user, reason=form.cleaned_data["reason"])
        except OutcomeError as error:
            messages.error(request, f"{lead.display_name()} was not moved. {error}")
        else:
            if change is None:
                messages.info(request, f"{lead.display_name()} is already in {stage.name}.")
            else:
                messages.success(request, f"{lead.display_name()} moved to {stage.name}.")
    else:
        problems = describe_errors(form, "Move")
        messages.error(request, f"{lead.display_name()} was not moved. {problems}")
    query = _board_query(request.POST)
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == BOARD_TARGET:
        return _render_board(request, _board_form(request, QueryDict(query)), query)
    return HttpResponseRedirect(reverse("stages:board") + (f"?{query}" if query else ""))
