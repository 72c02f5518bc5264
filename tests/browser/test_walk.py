"""Every page of the workspace, walked as a rep, a sales manager and an admin, at 1280 and
1440 px, on a small demo (``load-demo``) built once per test.

The pages come from the URL confs: every named URL of the workspace's apps is either a page
walked here (``PAGES``) or named in ``NOT_PAGES`` with the reason (a POST action, a CSV, an
htmx fragment); a new URL that is neither fails ``test_every_workspace_url_is_walked_or_
named_as_not_a_page``. A page a role may not open must answer 403 or a redirect (checked with
Django's client, not walked).

On each page, at each width: nothing wider than the window, no element that scrolls or clips
sideways (a table cut on the right), no pill, tile, button or table cell whose text overflows
its box (``scrollWidth > clientWidth``), no console error (the ``chromium`` fixture) and no
request answered 4xx/5xx (an asset's 404 included). Screenshots:
``artifacts/screenshots/walk-<role>-<page>-<width>.png``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.browser.chromium import SCREENSHOTS
from tests.conftest import PASSWORD

WIDTHS = (1280, 1440)
HEIGHT = 900
DEMO_LEADS = 160
ROLES = {"rep": "olivia", "manager": "james", "admin": "admin"}

# Namespaces of the signed-in workspace. Not here: the Django admin (its own look), the JSON
# API, and the public web form (``test_public_form.py`` walks it at laptop and phone sizes).
WORKSPACE_NAMESPACES = (
    "accounts",
    "leads",
    "stages",
    "segments",
    "scoring",
    "teamsettings",
    "routing",
    "cadences",
    "intake",
    "insights",
)

NOT_PAGES = {
    "accounts:logout": "POST: signs out",
    "leads:export": "a CSV download",
    "leads:bulk": "POST: bulk action on the list",
    "leads:log_activity": "POST from the lead page",
    "leads:disqualify": "POST from the lead page",
    "leads:set_status": "POST from the lead page",
    "leads:move_stage": "POST from the lead page",
    "leads:book_appointment": "POST from the lead page",
    "leads:add_task": "POST from the lead page",
    "leads:finish_task": "POST from the lead page",
    "leads:close": "POST from the lead page",
    "leads:unmerge": "POST from the lead page",
    "leads:duplicate_merge": "POST from the duplicates page",
    "leads:duplicate_dismiss": "POST from the duplicates page",
    "stages:board_column": "htmx fragment: a column's next cards, inside the board",
    "stages:move_lead": "POST from the board",
    "segments:create": "POST from the segments page",
    "segments:add_leads": "POST from the lead list",
    "segments:edit": "POST from the segment's page",
    "segments:delete": "POST from the segment's page",
    "scoring:create_draft": "POST from the scorecard",
    "scoring:remove_criterion": "POST from a draft",
    "scoring:save_caps": "POST from a draft",
    "scoring:save_decay": "POST from a draft",
    "scoring:save_thresholds": "POST from a draft",
    "scoring:start_backtest": "POST from a draft",
    "scoring:chart": "an SVG inside the backtest page",
    "scoring:backtest_csv": "a CSV download",
    "teamsettings:absence_add": "POST from team settings",
    "teamsettings:absence_remove": "POST from team settings",
    "teamsettings:holiday_add": "POST from team settings",
    "teamsettings:holiday_remove": "POST from team settings",
    "cadences:calendar_feed": "an iCalendar feed",
    "cadences:appointment_ics": "an iCalendar file",
    "intake:import_progress": "htmx fragment inside the import's page",
    "intake:import_rejected": "a CSV download",
    "insights:spend_import": "POST from the spend page",
    "insights:spend_remove": "POST from the spend page",
    "insights:csv": "a CSV download",
}


@dataclass(frozen=True)
class Page:
    """One page to walk: its URL name, a slug for the screenshot, the roles that may open it."""

    name: str
    slug: str
    url: Callable[[Any], str]  # the demo world → the path
    roles: frozenset[str]


EVERYONE = frozenset(ROLES)
MANAGERS = frozenset({"manager", "admin"})

PAGES = (
    Page("leads:today", "today", lambda w: "/", EVERYONE),
    Page("leads:list", "leads", lambda w: "/leads/", EVERYONE),
    Page("leads:new", "lead-new", lambda w: "/leads/new/", EVERYONE),
    Page("leads:detail", "lead", lambda w: f"/leads/{w.lead.pk}/", EVERYONE),
    Page("leads:detail", "lead-queued", lambda w: f"/leads/{w.queued_lead.pk}/", EVERYONE),
    Page("leads:detail", "lead-won", lambda w: f"/leads/{w.won_lead.pk}/", EVERYONE),
    Page("leads:duplicates", "duplicates", lambda w: "/duplicates/", EVERYONE),
    Page("stages:board", "board", lambda w: "/board/", EVERYONE),
    Page("segments:list", "segments", lambda w: "/segments/", EVERYONE),
    Page("segments:open", "segment", lambda w: f"/segments/{w.segment.pk}/", EVERYONE),
    Page("scoring:scorecard", "scorecard", lambda w: "/scorecard/", EVERYONE),
    Page("scoring:version", "scorecard-active", lambda w: f"/scorecard/v{w.active}/", EVERYONE),
    Page("scoring:version", "scorecard-draft", lambda w: f"/scorecard/v{w.draft}/", MANAGERS),
    Page(
        "scoring:add_criterion",
        "criterion-new",
        lambda w: f"/scorecard/v{w.draft}/criteria/new/",
        MANAGERS,
    ),
    Page(
        "scoring:edit_criterion",
        "criterion",
        lambda w: f"/scorecard/v{w.draft}/criteria/{w.criterion}/",
        MANAGERS,
    ),
    Page("scoring:publish", "publish", lambda w: f"/scorecard/v{w.draft}/publish/", MANAGERS),
    Page(
        "scoring:backtest", "backtest", lambda w: f"/scorecard/backtests/{w.backtest.pk}/", MANAGERS
    ),
    Page("teamsettings:home", "team-home", lambda w: "/team/", MANAGERS),
    Page("teamsettings:settings", "team", lambda w: f"/team/{w.team.pk}/", MANAGERS),
    Page(
        "teamsettings:report",
        "team-report",
        lambda w: f"/team/{w.team.pk}/report/",
        MANAGERS,
    ),
    Page(
        "teamsettings:rep_edit",
        "rep",
        lambda w: f"/team/{w.team.pk}/reps/{w.rep.pk}/",
        MANAGERS,
    ),
    Page("routing:rule_new", "rule-new", lambda w: f"/team/{w.team.pk}/rules/new/", MANAGERS),
    Page(
        "routing:rule_edit",
        "rule",
        lambda w: f"/team/{w.team.pk}/rules/{w.rule.pk}/",
        MANAGERS,
    ),
    Page(
        "routing:deadline_edit",
        "deadline",
        lambda w: f"/team/{w.team.pk}/deadlines/short/",
        MANAGERS,
    ),
    Page(
        "cadences:cadence_new",
        "cadence-new",
        lambda w: f"/team/{w.team.pk}/cadences/new/",
        MANAGERS,
    ),
    Page(
        "cadences:cadence",
        "cadence",
        lambda w: f"/team/{w.team.pk}/cadences/{w.cadence.pk}/",
        MANAGERS,
    ),
    Page("intake:form_list", "forms", lambda w: "/intake/forms/", MANAGERS),
    Page("intake:form_create", "form-new", lambda w: "/intake/forms/new/", MANAGERS),
    Page("intake:form_edit", "form", lambda w: f"/intake/forms/{w.web_form.pk}/", MANAGERS),
    Page("intake:import_list", "imports", lambda w: "/intake/imports/", MANAGERS),
    Page(
        "intake:import_job",
        "import-mapping",
        lambda w: f"/intake/imports/{w.uploaded_job.pk}/",
        MANAGERS,
    ),
    Page(
        "intake:import_job",
        "import-done",
        lambda w: f"/intake/imports/{w.finished_job.pk}/",
        MANAGERS,
    ),
    Page("insights:index", "insights", lambda w: "/insights/", EVERYONE),
    Page("insights:report", "funnel", lambda w: "/insights/funnel/", EVERYONE),
    Page("insights:report", "cost", lambda w: "/insights/cost/", MANAGERS),
    Page("insights:report", "speed", lambda w: "/insights/speed-to-lead/", EVERYONE),
    Page("insights:report", "calibration", lambda w: "/insights/calibration/", EVERYONE),
    Page("insights:spend", "spend", lambda w: "/insights/cost/spend/", MANAGERS),
    Page("insights:model", "model", lambda w: "/insights/model/", EVERYONE),
    Page("accounts:password_change", "password", lambda w: "/accounts/password/", EVERYONE),
    Page(
        "accounts:password_change_done",
        "password-done",
        lambda w: "/accounts/password/done/",
        EVERYONE,
    ),
)
# Walked before signing in (once, in the rep's walk).
SIGNED_OUT_PAGES = (Page("accounts:login", "sign-in", lambda w: "/accounts/login/", EVERYONE),)

# Problems on one page at the window's width: the page wider than the window, an element
# sticking out of it, an element whose content scrolls or is clipped sideways, and text
# overflowing a pill, tile, button or table cell.
LAYOUT_PROBLEMS = """() => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  const classes = (e) => typeof e.className === 'string' && e.className.trim()
    ? '.' + e.className.trim().split(/\\s+/).join('.') : '';
  const words = (e) => (e.innerText || e.value || '').trim().replace(/\\s+/g, ' ').slice(0, 50);
  const name = (e) =>
    `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${classes(e)} "${words(e)}"`;
  const hidden = (e) =>
    e.closest('.visually-hidden, [hidden], .skip, template, dialog:not([open])');
  if (document.documentElement.scrollWidth > width) {
    problems.push(`page is ${document.documentElement.scrollWidth} px wide in ${width} px`);
  }
  // An element inside one already named is not named again: one line per culprit.
  const named = new Set();
  const add = (e, problem) => {
    named.add(e);
    if (!named.has(e.parentElement)) problems.push(`${problem}: ${name(e)}`);
  };
  for (const e of document.body.querySelectorAll('*')) {
    if (hidden(e)) continue;
    const box = e.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.width > width + 1) add(e, `wider than the window (${Math.round(box.width)} px)`);
    else if (box.right > width + 1) add(e, `sticks out on the right (${Math.round(box.right)} px)`);
    const style = getComputedStyle(e);
    if (style.overflowX !== 'visible' && e.scrollWidth > e.clientWidth + 1 &&
        !['SELECT', 'TEXTAREA', 'INPUT', 'svg'].includes(e.tagName)) {
      add(e, `scrolls or clips sideways (${e.scrollWidth} px in ${e.clientWidth} px)`);
    }
  }
  const boxes = 'td, th, .badge, .score, .card, .tile, .button, button, .tabs a, nav a, .pager a';
  for (const e of document.body.querySelectorAll(boxes)) {
    if (hidden(e) || e.clientWidth === 0) continue;
    if (e.scrollWidth > e.clientWidth + 1) {
      const sizes = `${e.scrollWidth} px in ${e.clientWidth} px`;
      problems.push(`text overflows its box (${sizes}): ${name(e)}`);
    }
  }
  return problems;
}"""


@dataclass
class DemoWorld:
    """The demo objects the pages are opened on (the North America team's)."""

    team: Any
    rep: Any
    lead: Any
    queued_lead: Any
    won_lead: Any
    segment: Any
    active: int
    draft: int
    criterion: str
    backtest: Any
    rule: Any
    cadence: Any
    web_form: Any
    uploaded_job: Any
    finished_job: Any


def _build_demo() -> DemoWorld:
    """``load-demo`` with a few leads, known passwords, an admin, a backtest and two imports."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.utils import timezone

    from leadsieve.accounts.models import Role, User
    from leadsieve.cadences.models import Cadence
    from leadsieve.intake.services import save_web_form, start_import, store_import_upload
    from leadsieve.leads.models import Lead, Outcome
    from leadsieve.routing.models import AssignmentRule, QueuedLead
    from leadsieve.scoring.drafts import start_backtest
    from leadsieve.scoring.models import ScorecardStatus, ScorecardVersion
    from leadsieve.segments.models import Segment
    from leadsieve.webforms.models import WebForm

    call_command("load_demo", leads=DEMO_LEADS, seed=7, stdout=io.StringIO())
    for user in User.objects.filter(username__in=ROLES.values()):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    admin = User.objects.create_superuser(
        username="admin", email="admin@demo.invalid", password=PASSWORD, role=Role.ADMIN
    )
    james = User.objects.get(username="james")
    olivia = User.objects.get(username="olivia")
    team = james.team
    mine = Lead.objects.filter(owner=olivia, merged_into=None)
    queued = QueuedLead.objects.filter(lead__team=team).select_related("lead").first()
    assert queued is not None, "the demo has a lead of the team waiting in the routing queue"
    active = ScorecardVersion.objects.get(status=ScorecardStatus.ACTIVE)
    draft = ScorecardVersion.objects.filter(status=ScorecardStatus.DRAFT).first()
    if draft is None:
        draft = ScorecardVersion.objects.create(
            number=active.number + 1, status=ScorecardStatus.DRAFT, config=active.config
        )
    now = timezone.now()
    backtest = start_backtest(
        draft, period_start=now - dt.timedelta(days=365), period_end=now, user=admin
    )
    csv = (
        b"Email,First name,Last name,Company\n"
        b"ivy@ivory.test,Ivy,Ivory,Ivory Ltd\nbroken,Bad,Row,X\n"
    )
    uploaded = store_import_upload(
        SimpleUploadedFile("leads.csv", csv, "text/csv"), user=james, team=team
    )
    finished = store_import_upload(
        SimpleUploadedFile("more-leads.csv", csv, "text/csv"), user=james, team=team
    )
    finished = start_import(
        finished,
        columns={
            "Email": "email",
            "First name": "first_name",
            "Last name": "last_name",
            "Company": "company_name",
        },
        source_name="Trade show",
        campaign_name="",
        on_error="skip",
    )
    # The demo's ``contact`` form belongs to no team (an admin's); the manager's own form:
    demo_form = WebForm.objects.get(slug="contact")
    team_form = save_web_form(
        WebForm(
            name="Webinar sign-up",
            slug="webinar",
            team=team,
            fields=demo_form.fields,
            source=demo_form.source,
            consent_text=demo_form.consent_text,
        )
    )
    return DemoWorld(
        team=team,
        rep=olivia,
        lead=mine.filter(outcome=Outcome.OPEN).order_by("-rating").first(),
        queued_lead=queued.lead,
        won_lead=mine.filter(outcome=Outcome.WON).first(),
        segment=Segment.objects.filter(team=team, is_shared=True).first(),
        active=active.number,
        draft=draft.number,
        criterion=draft.config["criteria"][0]["name"],
        backtest=backtest,
        rule=AssignmentRule.objects.filter(team=team).first(),
        cadence=Cadence.objects.filter(team=team).first(),
        web_form=team_form,
        uploaded_job=uploaded,
        finished_job=finished,
    )


@pytest.fixture
def demo(live_server: Any) -> DemoWorld:
    return _build_demo()


def _sign_in(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")


def _walk(chromium: Any, url: str, role: str, demo: DemoWorld) -> list[str]:
    """Open every page ``role`` may open at each width; the problems found, page by page."""
    context = chromium.new_context(viewport={"width": WIDTHS[0], "height": HEIGHT})
    page = context.new_page()
    failed: list[str] = []
    page.on(
        "response",
        lambda response: (
            failed.append(f"{response.status} for {response.url}")
            if response.status >= 400
            else None
        ),
    )
    problems: list[str] = []

    def check(spec: Page) -> None:
        path = spec.url(demo)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            if width == WIDTHS[0]:
                response = page.goto(f"{url}{path}")
                page.wait_for_load_state("networkidle")
                assert response is not None and response.ok, f"{role} {path}: {response}"
            found = page.evaluate(LAYOUT_PROBLEMS)
            problems.extend(f"{role} {spec.slug} ({path}) at {width} px: {p}" for p in found)
            page.screenshot(
                path=SCREENSHOTS / f"walk-{role}-{spec.slug}-{width}.png", full_page=True
            )
        problems.extend(f"{role} {spec.slug} ({path}): {f}" for f in failed)
        failed.clear()

    if role == "rep":
        for spec in SIGNED_OUT_PAGES:
            check(spec)
    _sign_in(page, url, ROLES[role])
    for spec in PAGES:
        if role in spec.roles:
            check(spec)
    context.close()
    return problems


def _refused(role: str, demo: DemoWorld) -> list[str]:
    """The pages ``role`` may not open that answer something else than 403 or a redirect."""
    from django.test import Client

    from leadsieve.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=ROLES[role]))
    wrong = []
    for spec in PAGES:
        if role in spec.roles:
            continue
        path = spec.url(demo)
        response = client.get(path)
        if response.status_code not in (302, 403):
            wrong.append(f"{role} may not open {spec.slug} ({path}) but got {response.status_code}")
    return wrong


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_fits_1280_and_1440_px(
    live_server: Any, chromium: Any, demo: DemoWorld, role: str
) -> None:
    problems = _refused(role, demo) + _walk(chromium, live_server.url, role, demo)
    (SCREENSHOTS / f"walk-{role}-problems.txt").write_text("\n".join(problems) + "\n")
    assert problems == [], "\n".join(problems)


def _names(patterns: list[Any], namespace: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"


def test_every_workspace_url_is_walked_or_named_as_not_a_page() -> None:
    names = {
        name
        for name in _names(get_resolver().url_patterns)
        if name.partition(":")[0] in WORKSPACE_NAMESPACES
    }
    walked = {spec.name for spec in (*PAGES, *SIGNED_OUT_PAGES)}
    assert walked & set(NOT_PAGES) == set()
    assert names - walked - set(NOT_PAGES) == set(), "a URL neither walked nor explained"
    assert (walked | set(NOT_PAGES)) - names == set(), "a name that is no longer a URL"
