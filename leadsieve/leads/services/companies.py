"""Companies: attach leads by domain (or by name when there is no company domain), and load
the team's own firmographics.

A domain is unique (``company_unique_domain``): concurrent captures insert with
``ignore_conflicts`` and read back, so two requests never create the same company twice.
Names have no unique constraint; capture holds the identity lock of the name key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from leadsieve.leads.models import Company
from leadsieve.leads.services.bulk import db_datetime, fetch_ids, insert_rows


@dataclass
class KnownCompanies:
    """Companies one import has already resolved: domain → id and name key → id.

    A file names the same companies chunk after chunk; remembering them saves reading each
    one again per chunk. An entry is kept only once the transaction that found (or created)
    it has committed, so a rolled-back chunk never leaves an id behind. Companies are not
    deleted while leads are imported into them; if one were, the chunk naming it would fail
    on its foreign key at commit, and the import would stop there with an error.
    """

    by_domain: dict[str, int] = field(default_factory=dict)
    by_name: dict[str, int] = field(default_factory=dict)

    def remember(self, by_domain: dict[str, int], by_name: dict[str, int]) -> None:
        """Keep these once the current transaction commits (at once outside one)."""
        if not by_domain and not by_name:
            return

        def keep() -> None:
            self.by_domain.update(by_domain)
            self.by_name.update(by_name)

        transaction.on_commit(keep)


def resolve_companies(
    domains: pd.Series,
    names: pd.Series,
    name_keys: pd.Series,
    known: KnownCompanies | None = None,
) -> pd.Series:
    """The company id for each row (None when neither domain nor name is known).

    Creates missing companies: named after the stated company name, else the domain.
    ``known`` (an import's) answers the companies earlier chunks resolved and learns the
    new ones.
    """
    cache = known if known is not None else KnownCompanies()
    # Each distinct domain and name key is looked up once: an import's chunk names tens of
    # thousands of companies, most of them many times.
    domain_codes, unique_domains = pd.factorize(domains)
    domain_list = unique_domains.tolist()
    by_domain = _companies_by_domain(domain_list, domains, names, cache.by_domain)
    by_name = _companies_by_name(
        names.where(domains == "", ""), name_keys.where(domains == "", ""), cache.by_name
    )
    if known is not None:
        known.remember(
            {d: pk for d, pk in by_domain.items() if d not in known.by_domain},
            {k: pk for k, pk in by_name.items() if k not in known.by_name},
        )
    result = np.array([by_domain.get(d) for d in domain_list] + [None], dtype=object)[domain_codes]
    if by_name:
        key_codes, unique_keys = pd.factorize(name_keys.where(domains == "", ""))
        from_name = np.array([by_name.get(k) for k in unique_keys.tolist()] + [None], dtype=object)
        result = np.where(pd.isna(result), from_name[key_codes], result)
    return pd.Series(result, index=domains.index, dtype=object)


def _companies_by_domain(
    unique_domains: list[str], domains: pd.Series, names: pd.Series, known: dict[str, int]
) -> dict[str, int]:
    found: dict[str, int] = {}
    wanted = []
    for domain in unique_domains:
        if domain:
            pk = known.get(domain)
            if pk is None:
                wanted.append(domain)
            else:
                found[domain] = pk
    found.update(_fetch("domain", wanted))
    missing = [d for d in wanted if d not in found]
    if missing:
        first_names = (
            pd.DataFrame({"domain": domains, "name": names})
            .loc[lambda f: f["domain"].isin(missing)]
            .drop_duplicates("domain")
            .set_index("domain")["name"]
        )
        names_list = first_names.to_numpy().tolist()
        _insert_companies(
            first_names.index.tolist(),
            [name or domain for name, domain in zip(names_list, first_names.index, strict=True)],
            _name_keys(names_list),
            ignore_conflicts=True,
        )
        found.update(_fetch("domain", missing))
    return found


def _companies_by_name(
    names: pd.Series, name_keys: pd.Series, known: dict[str, int]
) -> dict[str, int]:
    frame = pd.DataFrame({"name": names, "key": name_keys}).loc[lambda f: f["key"] != ""]
    firsts = frame.drop_duplicates("key")
    keys = firsts["key"].tolist()
    found = {key: known[key] for key in keys if key in known}
    found.update(_fetch("name_key", [key for key in keys if key not in found]))
    missing = firsts[~firsts["key"].isin(list(found))]
    if len(missing):
        _insert_companies([""] * len(missing), missing["name"].tolist(), missing["key"].tolist())
        found.update(_fetch("name_key", missing["key"].tolist()))
    return found


def _insert_companies(
    domains: list[str], names: list[str], keys: list[str], *, ignore_conflicts: bool = False
) -> None:
    """New companies in one statement batch (the ORM's ``bulk_create`` builds an instance
    per row); ``ignore_conflicts``: a concurrent capture may have created the domain."""
    stamp = db_datetime(timezone.now())
    insert_rows(
        Company,
        {
            "domain": domains,
            "name": [str(name)[:200] for name in names],
            "name_key": keys,
            "created_at": [stamp] * len(domains),
            "updated_at": [stamp] * len(domains),
        },
        None,
        ignore_conflicts=ignore_conflicts,
    )


def _fetch(field: str, values: Sequence[str]) -> dict[str, int]:
    # NOT (domain = ''): the condition of the partial company_unique_domain index; without
    # it SQLite scans every company for each lookup (EXPLAIN QUERY PLAN), and a million-lead
    # import makes tens of thousands of companies.
    where = "NOT (domain = '')" if field == "domain" else ""
    found: dict[str, int] = {}
    for value, pk in fetch_ids(Company, field, values, where=where):
        found.setdefault(value, pk)
    return found


def _name_keys(names: list[str]) -> list[str]:
    from leadsieve.engine.normalize import company_name_keys

    return [str(key) for key in company_name_keys(pd.Series(names, dtype=object)).tolist()]


@transaction.atomic
def upsert_companies(frame: pd.DataFrame) -> tuple[int, int]:
    """Create or update companies from firmographics (columns: domain, name, industry, size,
    country, revenue_band, custom); matched by domain, else by name. Returns
    (created, updated). The caller validated the values.
    """
    created = updated = 0
    fields = [c for c in ("name", "industry", "size", "country", "revenue_band") if c in frame]
    domains = frame["domain"].tolist() if "domain" in frame else [""] * len(frame)
    names = frame["name"].tolist() if "name" in frame else [""] * len(frame)
    keys = _name_keys(names)
    by_domain = _fetch("domain", [d for d in domains if d])
    by_name = _fetch("name_key", [k for d, k in zip(domains, keys, strict=True) if not d and k])
    records = frame.to_dict("records")
    for record, domain, key in zip(records, domains, keys, strict=True):
        pk = by_domain.get(domain) if domain else by_name.get(key)
        values = {f: record[f] for f in fields if record.get(f) not in (None, "")}
        custom = record.get("custom") or {}
        if pk is None:
            company = Company.objects.create(domain=domain, name_key=key, custom=custom, **values)
            (by_domain if domain else by_name)[domain or key] = company.pk
            created += 1
            continue
        company = Company.objects.get(pk=pk)
        for name, value in values.items():
            setattr(company, name, value)
        if "name" in values:
            company.name_key = key
        company.custom = {**company.custom, **custom}
        company.save()
        updated += 1
    return created, updated
