"""Scoring-engine speed and memory: 1M leads, ~3M activities, the default scorecard.

Measures (each in its own child process, so peak RSS is the scoring run's own):

* ``engine_1m_s``: ``Scorecard.score`` on 1M leads + 3M activities (all dimensions, status,
  horizon, scorecard rating);
* ``engine_model_1m_s``: ``ConversionModel.predict_proba`` on the same 1M leads (model fitted on
  20k synthetic leads) — the rating once a team has history;
* ``engine_peak_mib``: peak RSS of the scoring child, data included (and
  ``engine_model_peak_mib`` after the model's 1M prediction);
* ``speedup_vs_loop``: a per-lead pure-Python loop of the same scorecard on 10k leads,
  extrapolated to 1M, over ``engine_1m_s`` (the loop's fit points are checked equal to the
  engine's);
* ``event_p99_ms``: p99 latency of scoring one lead (a batch of one, with its activities) with
  ``Scorecard.score``, frames in and out; ``event_cpu_ms`` its mean CPU time per call (this
  thread: what a call costs without waiting for a busy core); ``event_arrays_p99_ms`` the same
  lead through ``Scorecard.score_arrays`` with plain arrays, as the Django event path calls it.

Last line of output: one JSON object. Run: ``python bench/bench_scoring_engine.py``.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leadsieve.engine import (
    ConversionModel,
    FeatureColumn,
    FeatureSpec,
    Scorecard,
    default_scorecard,
)
from leadsieve.engine.freemail import FREE_MAIL_DOMAINS
from leadsieve.engine.types import ACTIVITY_KINDS

AS_OF = pd.Timestamp("2026-11-23 12:00", tz="UTC")
N_LEADS = 1_000_000
N_ACTIVITIES = 3_000_000
N_LOOP = 10_000
N_SINGLE = 1_000
SEED = 0

TITLES = [
    "CEO",
    "Founder",
    "Head of Sales",
    "VP Marketing",
    "Sales Director",
    "IT Director",
    "Engineer",
    "Developer",
    "Analyst",
    "Consultant",
    "Student",
    "Intern",
    "Manager",
    "Owner",
    "Chief Revenue Officer",
    "Account Executive",
    "Marketing Manager",
    "",
]
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "CA", "AU", "ES", "IT", "SE", "IN", "BR", "MX", "JP"]
INDUSTRIES = [
    "software",
    "saas",
    "it services",
    "financial services",
    "manufacturing",
    "retail",
    "education",
    "health",
    "logistics",
    "media",
    "government",
]
KINDS = list(ACTIVITY_KINDS)
KIND_P = [0.03, 0.40, 0.20, 0.17, 0.07, 0.03, 0.03, 0.02, 0.02, 0.02, 0.01]
URLS = ["/", "/pricing", "/blog/a", "/blog/b", "/docs", "/pricing/enterprise", "/about", ""]
SUBJECTS = ["", "Request a demo", "Newsletter", "Contact us", "Re: proposal", "Webinar"]


def _pick(
    rng: np.random.Generator, values: list[str], n: int, p: list[float] | None = None
) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p)]


def make_leads(n: int, seed: int) -> pd.DataFrame:
    """Synthetic leads in the engine's column contract (seeded)."""
    rng = np.random.default_rng(seed)
    domains = np.asarray(
        [f"company{i}.example" for i in range(5000)] + sorted(FREE_MAIL_DOMAINS)[:20], dtype=object
    )
    size = np.exp(rng.normal(4.5, 1.8, n))
    size[rng.random(n) < 0.2] = np.nan
    budget = np.round(np.exp(rng.normal(9.5, 1.5, n)), -2)
    budget[rng.random(n) < 0.5] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1, dtype=np.int64),
            "job_title": _pick(rng, TITLES, n),
            "country": _pick(rng, COUNTRIES, n),
            "need": _pick(rng, ["", "crm", "pipeline", "reporting", "automation"], n),
            "budget": budget,
            "timeline": _pick(rng, ["", "now", "quarter", "half_year", "year", "later"], n),
            "decision_role": _pick(rng, ["", "decision_maker", "influencer", "user"], n),
            "consent": rng.random(n) < 0.8,
            "do_not_contact": rng.random(n) < 0.02,
            "email_domain": domains[rng.integers(0, len(domains), n)],
            "source": _pick(rng, ["webform", "import", "api", "manual"], n),
            "campaign": _pick(rng, [f"c{i}" for i in range(40)], n),
            "created_at": AS_OF - pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s"),
            "company__industry": _pick(rng, INDUSTRIES, n),
            "company__size": size,
            "company__country": _pick(rng, COUNTRIES, n),
            "company__revenue_band": _pick(rng, ["", "<1m", "1-10m", "10-50m", ">50m"], n),
        }
    )


def make_activities(n_leads: int, n: int, seed: int) -> pd.DataFrame:
    """Synthetic activities (some after ``AS_OF``, which the engine must ignore)."""
    rng = np.random.default_rng(seed + 1)
    lead_id = (np.floor(n_leads * rng.power(0.6, n)).astype(np.int64) % n_leads) + 1
    age_s = rng.exponential(40 * 86400, n).astype(np.int64) - 2 * 86400
    return pd.DataFrame(
        {
            "lead_id": lead_id,
            "kind": _pick(rng, KINDS, n, KIND_P),
            "occurred_at": AS_OF - pd.to_timedelta(age_s, unit="s"),
            "url": _pick(rng, URLS, n),
            "subject": _pick(rng, SUBJECTS, n),
        }
    )


# -- the same scorecard, one lead at a time, in plain Python (the "loop" baseline) --------------
def _text(v: object) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip().lower()


def _matches(
    c: object, lead: dict[str, object], events: list[tuple[str, float, str, str]]
) -> tuple[bool, float]:
    op = c.operator  # type: ignore[attr-defined]
    if op == "activity":
        a = c.activity  # type: ignore[attr-defined]
        n = sum(
            1
            for kind, age, url, subject in events
            if kind == a.kind
            and (a.within_days is None or age <= a.within_days)
            and (not a.url_contains or a.url_contains.lower() in url.lower())
            and (not a.subject_contains or a.subject_contains.lower() in subject.lower())
        )
        return n >= a.min_count, float(n)
    raw = lead[c.column]  # type: ignore[attr-defined]
    text = _text(raw)
    values = c.value if isinstance(c.value, tuple) else (c.value,)  # type: ignore[attr-defined]
    wanted = [_text(v) for v in values]
    if op == "range":
        x = raw if isinstance(raw, float) else float("nan")
        ok = not math.isnan(x) and (c.min is None or x >= c.min) and (c.max is None or x <= c.max)  # type: ignore[attr-defined]
        return ok, 1.0
    if op == "is_set":
        return text != "", 1.0
    if op == "is_empty":
        return text == "", 1.0
    if op == "free_mail":
        return text.rsplit("@", 1)[-1] in FREE_MAIL_DOMAINS, 1.0
    if op == "contains":
        return text != "" and any(w in text for w in wanted), 1.0
    if op == "one_of":
        return text != "" and text in wanted, 1.0
    if op == "equal":
        return text != "" and text == wanted[0], 1.0
    return text != "" and text not in wanted, 1.0


def loop_score(
    card: Scorecard, lead: dict[str, object], events: list[tuple[str, float, str, str]]
) -> dict[str, object]:
    """Fit/interest/readiness/status of one lead, evaluated criterion by criterion."""
    groups: dict[tuple[str, object], float] = {}
    disqualified = False
    for c in card.criteria:
        ok, count = _matches(c, lead, events)
        if c.dimension == "disqualify":
            disqualified = disqualified or ok
            continue
        pts = c.points * count if (c.per_event and ok) else (c.points if ok else 0.0)
        groups[(c.dimension, c.group)] = groups.get((c.dimension, c.group), 0.0) + pts
    for cap in card.caps:
        if cap.group is not None and (cap.dimension, cap.group) in groups:
            v = groups[(cap.dimension, cap.group)]
            groups[(cap.dimension, cap.group)] = min(v, cap.max) if cap.max is not None else v
    totals = {"fit": 0.0, "interest": 0.0, "readiness": 0.0}
    for (dim, _), v in groups.items():
        totals[dim] += v
    for rule in card.interest_rules:
        s = sum(
            rule.points * 0.5 ** (age / rule.half_life_days)
            for kind, age, _, _ in events
            if kind == rule.kind
        )
        totals["interest"] += min(s, rule.cap) if rule.cap is not None else s
    for cap in card.caps:
        if cap.group is None:
            v = totals[cap.dimension]
            v = min(v, cap.max) if cap.max is not None else v
            totals[cap.dimension] = max(v, cap.min) if cap.min is not None else v
    return {**totals, "disqualified": disqualified}


def run_loop(card: Scorecard, leads: pd.DataFrame, acts: pd.DataFrame) -> tuple[float, float]:
    """Seconds for the pure-Python loop on ``leads``, and max |fit difference| vs the engine."""
    sub = acts[acts["lead_id"].isin(set(leads["id"]))]
    age = (AS_OF - sub["occurred_at"]).dt.total_seconds() / 86400
    by_lead: dict[int, list[tuple[str, float, str, str]]] = {}
    for lid, kind, a, url, subj in zip(
        sub["lead_id"], sub["kind"], age, sub["url"], sub["subject"], strict=True
    ):
        if a >= 0:
            by_lead.setdefault(int(lid), []).append((kind, float(a), url, subj))
    records = leads.to_dict("records")
    started = time.perf_counter()
    fits = [loop_score(card, r, by_lead.get(int(r["id"]), []))["fit"] for r in records]
    seconds = time.perf_counter() - started
    engine = card.score(leads, sub, as_of=AS_OF)["fit_points"].to_numpy()
    return seconds, float(np.max(np.abs(np.asarray(fits) - engine)))


def child_score() -> None:
    """Child process: build 1M leads, score them, report seconds and peak RSS."""
    leads = make_leads(N_LEADS, SEED)
    acts = make_activities(N_LEADS, N_ACTIVITIES, SEED)
    card = default_scorecard(competitor_domains=("rival.example",))
    card.score(leads.head(1000), acts.head(3000), as_of=AS_OF)  # warm-up
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    scores = card.score(leads, acts, as_of=AS_OF)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    spec = FeatureSpec(
        columns=(
            FeatureColumn("job_title", "categorical"),
            FeatureColumn("country", "categorical"),
            FeatureColumn("company__industry", "categorical"),
            FeatureColumn("company__size", "numeric"),
            FeatureColumn("budget", "numeric"),
            FeatureColumn("timeline", "categorical"),
            FeatureColumn("decision_role", "categorical"),
            FeatureColumn("source", "categorical"),
        )
    )
    rng = np.random.default_rng(SEED)
    train = leads.head(20_000)
    outcomes = rng.random(len(train)) < scores["probability"].to_numpy()[: len(train)]
    model = ConversionModel(random_state=0, gbm_max_rounds=300).fit(
        train, outcomes.astype(int), feature_spec=spec
    )
    started = time.perf_counter()
    model.predict_proba(leads)
    model_seconds = time.perf_counter() - started
    model_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "engine_1m_s": round(seconds, 3),
                "engine_model_1m_s": round(model_seconds, 3),
                "engine_peak_mib": round(peak, 1),
                "engine_model_peak_mib": round(model_peak, 1),
                "rss_before_scoring_mib": round(rss_before, 1),
                "status_counts": scores["status"].value_counts().to_dict(),
                "model_columns": model.encoder_.columns,
                "model_blend_weight": model.blend_weight_,
            }
        )
    )


def main() -> None:
    if "--child" in sys.argv:
        child_score()
        return
    out = subprocess.run(
        [sys.executable, __file__, "--child"], capture_output=True, text=True, check=True
    )
    child = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"1M leads + 3M activities scored in {child['engine_1m_s']} s,"
        f" model rating in {child['engine_model_1m_s']} s (blend weight"
        f" {child['model_blend_weight']}, columns {', '.join(child['model_columns'])}),"
        f" peak RSS {child['engine_peak_mib']} MiB (data alone {child['rss_before_scoring_mib']}"
        f" MiB); statuses {child['status_counts']}"
    )

    card = default_scorecard(competitor_domains=("rival.example",))
    leads = make_leads(N_LOOP, SEED + 7)
    acts = make_activities(N_LOOP, 3 * N_LOOP, SEED + 7)
    loop_seconds, max_diff = run_loop(card, leads, acts)
    loop_1m = loop_seconds * N_LEADS / N_LOOP
    print(
        f"pure-Python loop: {loop_seconds:.2f} s for {N_LOOP} leads (≈ {loop_1m:.0f} s per 1M);"
        f" max |fit difference| vs engine {max_diff:.2e}"
    )

    grouped = dict(tuple(acts.groupby("lead_id")))
    empty = acts.iloc[:0]
    singles = [
        (leads.iloc[[i]], grouped.get(int(leads["id"].iloc[i]), empty)) for i in range(N_SINGLE)
    ]
    # The scorecard is validated and compiled on its first call (the Django side keeps one
    # per version): score one lead before timing, as a running server would have.
    card.score(*singles[0], as_of=AS_OF)
    latencies, cpu_started = [], time.thread_time()
    for one, events in singles:  # frames in, a frame out: ``Scorecard.score``
        started = time.perf_counter()
        card.score(one, events, as_of=AS_OF)
        latencies.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.thread_time() - cpu_started) * 1000 / N_SINGLE
    p99 = float(np.percentile(latencies, 99))
    print(
        f"single lead: p50 {np.percentile(latencies, 50):.2f} ms, p99 {p99:.2f} ms,"
        f" CPU {cpu_ms:.2f} ms per call (p99 also counts waits for a core)"
    )
    as_arrays = [  # what the Django event path passes: plain arrays in, arrays out
        (
            {name: one[name].to_numpy() for name in one.columns},
            {name: events[name].to_numpy() for name in events.columns}
            | {"occurred_at": events["occurred_at"].dt.tz_convert(None).to_numpy()},
        )
        for one, events in singles
    ]
    array_latencies = []
    for lead, events in as_arrays:
        started = time.perf_counter()
        card.score_arrays(lead, events, as_of=AS_OF)
        array_latencies.append((time.perf_counter() - started) * 1000)
    arrays_p99 = float(np.percentile(array_latencies, 99))
    print(
        f"single lead as arrays: p50 {np.percentile(array_latencies, 50):.2f} ms,"
        f" p99 {arrays_p99:.2f} ms"
    )
    print(
        json.dumps(
            {
                "engine_1m_s": child["engine_1m_s"],
                "engine_model_1m_s": child["engine_model_1m_s"],
                "engine_peak_mib": child["engine_peak_mib"],
                "engine_model_peak_mib": child["engine_model_peak_mib"],
                "load_average_1m": round(os.getloadavg()[0], 1),
                "speedup_vs_loop": round(loop_1m / child["engine_1m_s"], 1),
                "loop_max_fit_diff": max_diff,
                "event_p99_ms": round(p99, 2),
                "event_cpu_ms": round(cpu_ms, 3),
                "event_arrays_p99_ms": round(arrays_p99, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
