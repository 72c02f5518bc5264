"""Import a CSV/XLSX file of leads through the capture rules, chunk by chunk.

Each chunk is one ``capture_leads`` call in its own transaction (``on_error="skip"``), so an
interrupted import keeps every chunk already committed; ``on_error="abort"`` wraps the whole
file in one transaction and saves nothing if any row is rejected.
"""

from __future__ import annotations

import csv
import gc
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow
from django.conf import settings
from django.db import connection, transaction

from leadsieve.accounts.models import Team, User
from leadsieve.config.sqlite.checkpoints import checkpoints_between_batches
from leadsieve.engine.normalize import parse_phones, phone_keys
from leadsieve.leads.capture import (
    CleanBatch,
    FieldError,
    capture_leads,
    clean_frame,
    clean_rows,
    stage_cleaned,
)
from leadsieve.leads.importing.history_dates import (
    QUALIFIED_TARGETS,
    date_errors,
    record_qualification,
)
from leadsieve.leads.importing.mapping import ALL_COLUMNS, CUSTOM_PREFIX, LeadMapping
from leadsieve.leads.importing.reading import (
    Chunk,
    ImportFileError,
    LeadFile,
    iter_chunks,
    open_lead_file,
)
from leadsieve.leads.models import Campaign, FieldDefinition, FieldType, Source, SourceKind
from leadsieve.leads.services.companies import KnownCompanies
from leadsieve.leads.services.deferred import DeferredWrites, deferred_writes
from leadsieve.leads.services.writing import StagedBatch

DEFAULT_CHUNK_SIZE = 50_000
# Chunks of at least this many rows are prepared in worker processes (see ``_Preparer``).
PIPELINE_MIN_ROWS = 10_000
WORKER_WATCH_S = 1.0
SQLITE_IMPORT_CACHE_KIB = 128 * 1024
REJECTED_HEADER = ("row", "column", "field", "value", "reason")


class ImportAborted(Exception):
    """``on_error="abort"`` met a bad row: nothing was saved."""


class _Rollback(Exception):
    pass


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    merged: int = 0
    rejected: int = 0
    rejected_path: Path | None = None
    dry_run: bool = False
    errors: list[FieldError] = field(default_factory=list)  # the first few, for display

    def describe(self) -> str:
        saved = "would be " if self.dry_run else ""
        text = (
            f"{self.rows} rows: {self.created} leads {saved}created, {self.merged} {saved}merged "
            f"into existing leads, {self.rejected} rejected"
        )
        if self.rejected and self.rejected_path:
            text += f" (see {self.rejected_path})"
        return text


def default_rejected_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejected.csv")


def import_leads(
    path: Path,
    mapping: LeadMapping,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    on_error: Literal["skip", "abort"] = "skip",
    rejected_path: Path | None = None,
    dry_run: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Callable[[int], object] | None = None,
    user: User | None = None,
    arrived: Callable[[list[int]], object] | None = None,
) -> ImportSummary:
    """Import ``path``; raises ``ImportFileError`` (unreadable file, missing columns) or
    ``ImportAborted`` (abort mode and a bad row). The rejected rows file is written either way.

    ``user``: who imports (the intake page's uploader, ``import-leads --user``). Rows then
    merge only into leads that user can see, like every capture by a user, and new leads
    join the user's team when the mapping names none; without a user (a system import)
    rows merge into any live lead.

    ``arrived`` is called inside each chunk's transaction with the ids of the leads it
    created or merged into: the pipeline's ``receive_batch``, which scores and routes them
    once the chunk commits.
    """
    lead_file = open_lead_file(
        path, encoding=encoding or mapping.encoding, delimiter=delimiter or mapping.delimiter
    )
    _check_columns(lead_file, mapping)
    joined = _load_join(mapping)
    summary = ImportSummary(
        dry_run=dry_run, rejected_path=rejected_path or default_rejected_path(path)
    )
    rejected = _RejectedFile(rejected_path or default_rejected_path(path))
    arguments = (lead_file, mapping, joined, summary, rejected, on_error, chunk_size, progress)
    try:
        if on_error == "abort" or dry_run:
            with transaction.atomic():
                _import_chunks(*arguments, via=_via(path), user=user, arrived=arrived)
                if dry_run:
                    raise _Rollback
        else:
            _import_chunks(*arguments, via=_via(path), user=user, arrived=arrived)
    except _Rollback:
        pass
    finally:
        rejected.close()
    if not summary.rejected:
        summary.rejected_path = None
    return summary


class _RejectedFile:
    """The rejected rows, as CSV; created at the first bad row (no file when all is well)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: Any = None
        self.writer: Any = None

    def writerow(self, row: Sequence[Any]) -> None:
        if self.writer is None:
            self.handle = self.path.open("w", encoding="utf-8", newline="")
            self.writer = csv.writer(self.handle)
            self.writer.writerow(REJECTED_HEADER)
        self.writer.writerow(row)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def _via(path: Path) -> str:
    return f"import:{path.name}"[:60]


def _check_columns(lead_file: LeadFile, mapping: LeadMapping) -> None:
    header = set(lead_file.header)
    joined_columns = set(_join_header(mapping)) if mapping.join else set()
    needed = set(mapping.columns) | set(mapping.dates)
    if mapping.won_if_present:
        needed.add(mapping.won_if_present)
    if mapping.join:
        needed.add(mapping.join.on)
    missing = sorted(needed - header - joined_columns)
    if missing:
        hint = ""
        if len(lead_file.header) == 1 and lead_file.kind == "csv":
            hint = f"; the header is one column {lead_file.header[0][:60]!r}: wrong --delimiter?"
        raise ImportFileError(
            f"{lead_file.path}: mapped column(s) missing from the file: "
            f"{', '.join(map(repr, missing))}{hint}"
        )


def _join_header(mapping: LeadMapping) -> list[str]:
    assert mapping.join is not None
    joined = open_lead_file(
        mapping.join.path, encoding=mapping.join.encoding, delimiter=mapping.join.delimiter
    )
    return [c for c in joined.header if c != mapping.join.on]


def _load_join(mapping: LeadMapping) -> pd.DataFrame | None:
    """The joined file, whole: it must be small (closed deals, not leads)."""
    if mapping.join is None:
        return None
    joined_file = open_lead_file(
        mapping.join.path, encoding=mapping.join.encoding, delimiter=mapping.join.delimiter
    )
    if mapping.join.on not in joined_file.header:
        raise ImportFileError(f"{mapping.join.path}: has no column {mapping.join.on!r} to join on")
    rows: list[list[Any]] = []
    for chunk in iter_chunks(joined_file, 100_000):
        rows.extend(chunk.rows)
    frame = pd.DataFrame(rows, columns=joined_file.header, dtype=object)
    return frame.drop_duplicates(mapping.join.on).set_index(mapping.join.on)


def _import_chunks(
    lead_file: LeadFile,
    mapping: LeadMapping,
    joined: pd.DataFrame | None,
    summary: ImportSummary,
    rejected: Any,
    on_error: str,
    chunk_size: int,
    progress: Callable[[int], object] | None,
    *,
    via: str,
    user: User | None,
    arrived: Callable[[list[int]], object] | None = None,
) -> None:
    constants = _constants(mapping)
    if user is not None and constants.get("team") is None:
        constants["team"] = user.team
    _register_fields(mapping)
    if connection.vendor == "sqlite":
        # The key indexes of a million leads outgrow the default page cache; memory-mapped
        # reads would count the whole database file in the import's memory.
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_IMPORT_CACHE_KIB}")
            cursor.execute("PRAGMA mmap_size=0")
    preparer = _Preparer(lead_file.header, mapping, joined, via)
    companies = KnownCompanies()
    # The collection after each chunk need not walk the objects alive now (Django, pandas,
    # the mapping): they outlive the import.
    gc.freeze()
    try:
        with (
            preparer,
            checkpoints_between_batches() as checkpoint,
            deferred_writes() as writer,
            _ChunkTransactions(checkpoint, writer) as transactions,
        ):
            for prepared in preparer.prepared(iter_chunks(lead_file, chunk_size)):
                _import_prepared(
                    prepared,
                    mapping,
                    constants,
                    summary,
                    rejected,
                    on_error,
                    via,
                    progress,
                    companies,
                    transactions,
                    user,
                    arrived,
                )
    finally:
        gc.unfreeze()


class _ChunkTransactions:
    """One transaction per chunk, committed only when the next chunk needs the database.

    With a writer thread (``deferred_writes``, SQLite), a chunk's inserts are still running
    when its Python work is done; the next chunk's reading, staging and row building (no
    database) overlap them, and its ``begin`` waits for them, commits, and opens its own
    transaction. Leaving the block commits the last chunk. On an error, the open chunk is
    committed if it was complete (``done``: the error came from the next one, before its
    ``begin``), else rolled back; chunks committed before stay either way, so
    ``on_error="skip"`` keeps every complete chunk, as before. Inside an outer transaction
    (all-or-nothing, dry run) each chunk is a savepoint.
    """

    def __init__(self, checkpoint: Callable[[], None], writer: DeferredWrites | None) -> None:
        self.checkpoint = checkpoint
        self.writer = writer
        self.atomic: transaction.Atomic | None = None
        self.complete = False
        self.committed: list[Callable[[], object]] = []

    def begin(self) -> None:
        self.commit()
        atomic = transaction.atomic()
        atomic.__enter__()
        self.atomic, self.complete = atomic, False

    def done(self) -> None:
        """The open chunk is complete: keep it even if the next one fails."""
        self.complete = True

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once the open chunk is committed (a savepoint released, inside
        an outer transaction); at once when no chunk is open."""
        if self.atomic is None:
            callback()
        else:
            self.committed.append(callback)

    def commit(self) -> None:
        atomic, self.atomic = self.atomic, None
        if atomic is None:
            return
        try:
            if self.writer is not None:
                self.writer.wait()
        except BaseException as error:
            atomic.__exit__(type(error), error, error.__traceback__)
            raise
        atomic.__exit__(None, None, None)
        self.checkpoint()
        callbacks, self.committed = self.committed, []
        for callback in callbacks:
            callback()

    def __enter__(self) -> _ChunkTransactions:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: Any
    ) -> None:
        if kind is None or self.complete:
            self.commit()
        elif self.atomic is not None:
            atomic, self.atomic = self.atomic, None
            self.committed = []
            if self.writer is not None:
                self.writer.cancel()  # nothing may run on the connection during the rollback
            atomic.__exit__(kind, error, trace)


class _Preparer:
    """Reads, maps, validates and normalises chunks ahead of the writer.

    This process only reads the file and writes to the database; everything else about a
    chunk (mapping, cleaning, phone parsing, the touch payloads) happens in worker processes,
    one per core, a chunk each, while this process writes the chunks before it. Chunks
    smaller than ``PIPELINE_MIN_ROWS`` (small files, the web and API) are prepared here:
    starting workers would cost more.
    """

    def __init__(
        self, header: list[str], mapping: LeadMapping, joined: pd.DataFrame | None, via: str
    ) -> None:
        self.arguments = (header, mapping, joined, via)
        self.workers = os.cpu_count() or 1
        self.executor: ProcessPoolExecutor | None = None

    def prepared(self, chunks: Iterator[Chunk]) -> Iterator[_Prepared]:
        """The chunks prepared, in file order; at most ``workers`` being prepared ahead."""
        pending: deque[Future[_Prepared]] = deque()
        for chunk in chunks:
            if self.executor is None and len(chunk.rows) < PIPELINE_MIN_ROWS:
                yield _prepare(chunk, *self.arguments)  # nothing is pending yet
                continue
            pending.append(self._pool().submit(_prepare_in_worker, chunk))
            if len(pending) > self.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def _pool(self) -> ProcessPoolExecutor:
        if self.executor is None:
            # fork: the workers inherit the configured Django, the mapping and the joined
            # file without pickling them; they never touch the database connection.
            self.executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
                initargs=self.arguments,
            )
        return self.executor

    def __enter__(self) -> _Preparer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


_WORKER_ARGUMENTS: tuple[Any, ...] = ()


def _start_worker(*arguments: Any) -> None:
    global _WORKER_ARGUMENTS
    _WORKER_ARGUMENTS = arguments
    gc.freeze()  # what the worker inherited outlives every chunk
    # A killed import (SIGTERM, OOM) cannot stop its workers: they stop by themselves.
    parent = os.getppid()
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WORKER_WATCH_S)
    os._exit(1)


def _prepare_in_worker(chunk: Chunk) -> _Prepared:
    # Millions of short-lived objects and no cycles: collect once per chunk.
    gc.disable()
    try:
        return _prepare(chunk, *_WORKER_ARGUMENTS)
    finally:
        gc.enable()
        gc.collect()


@dataclass
class _Prepared:
    """A chunk mapped, validated and normalised, ready to be written (plain, picklable data)."""

    n_rows: int
    kept_numbers: list[int]  # data row numbers of ``cleaned``'s rows
    errors: list[tuple[FieldError, str]]  # every rejected row's errors and values
    sources: list[Any] | None  # source name per kept row, when a column gives it
    campaigns: list[Any] | None
    cleaned: CleanBatch | None
    # The MQL / SQL date per kept row (None: not given), per mapped target (history_dates).
    qualified: dict[str, list[Any]] = field(default_factory=dict)


def _prepare(
    chunk: Chunk, header: list[str], mapping: LeadMapping, joined: pd.DataFrame | None, via: str
) -> _Prepared:
    """Everything about a chunk that needs no database: runs in a worker process."""
    frame = pd.DataFrame(chunk.rows, columns=header, dtype=object)
    numbers = chunk.numbers
    if joined is not None:
        assert mapping.join is not None
        extra = joined.reindex(frame[mapping.join.on].to_numpy())
        for column in extra.columns:
            frame[column] = extra[column].fillna("").to_numpy()
    leads, mapping_errors = _map_columns(frame, mapping, numbers)
    errors: list[tuple[FieldError, str]] = [
        (FieldError("row", reason, row=number), "") for number, reason in chunk.bad.items()
    ]
    errors.extend(mapping_errors)
    bad_rows = {e.row for e, _ in errors}
    checked = [i for i, n in enumerate(numbers) if n in bad_rows and n not in chunk.bad]
    if checked:  # report every problem of a row at once, not one per attempt
        _, more = clean_frame(
            leads.iloc[checked]
            .drop(columns=["source", "campaign", *QUALIFIED_TARGETS], errors="ignore")
            .reset_index(drop=True),
            allow_history=True,
        )
        for position, found in more.items():
            errors += [
                _located(error, frame, checked[position], numbers, mapping) for error in found
            ]
    keep = [i for i, n in enumerate(numbers) if n not in bad_rows]
    leads = leads.iloc[keep]
    kept_numbers = [numbers[i] for i in keep]
    sources = leads.pop("source").tolist() if "source" in leads else None
    campaigns = leads.pop("campaign").tolist() if "campaign" in leads else None
    qualified = {
        target: [None if pd.isna(v) else v.to_pydatetime() for v in leads.pop(target)]
        for target in QUALIFIED_TARGETS
        if target in leads
    }
    cleaned = None
    if len(leads):
        parsed = None
        if "phone" in leads:
            # Parsed here, in this process: the chunks already keep every core busy.
            distinct = [v for v in phone_keys(leads["phone"]).unique().tolist() if v]
            region = settings.LEADSIEVE_DEFAULT_REGION
            parsed = dict(zip(distinct, parse_phones(distinct, region), strict=True))
        cleaned = clean_rows(
            leads,
            allow_history=True,
            row_numbers=kept_numbers,
            activity_payload={"file": via.removeprefix("import:")},
            parsed_phones=parsed,
        )
        for position, found in cleaned.errors.items():
            errors += [_located(error, frame, keep[position], numbers, mapping) for error in found]
    return _Prepared(len(numbers), kept_numbers, errors, sources, campaigns, cleaned, qualified)


def _import_prepared(
    prepared: _Prepared,
    mapping: LeadMapping,
    constants: dict[str, Any],
    summary: ImportSummary,
    rejected: Any,
    on_error: str,
    via: str,
    progress: Callable[[int], object] | None,
    companies: KnownCompanies,
    transactions: _ChunkTransactions,
    user: User | None,
    arrived: Callable[[list[int]], object] | None = None,
) -> None:
    # A chunk makes millions of short-lived objects and no cycles: collecting while
    # they are alive costs more than the import; collect once per chunk instead.
    gc.disable()
    try:
        _import_one(
            prepared,
            mapping,
            constants,
            summary,
            rejected,
            on_error,
            via,
            companies,
            transactions,
            user,
            arrived,
        )
    finally:
        gc.enable()
    gc.collect()
    pyarrow.default_memory_pool().release_unused()  # keep memory bounded between chunks
    if progress is not None:
        # Once the chunk is committed: a progress that writes (the UI's import job) then
        # writes outside the chunk's transaction, and a poll sees it at once.
        transactions.after_commit(partial(progress, prepared.n_rows))


def _import_one(
    prepared: _Prepared,
    mapping: LeadMapping,
    constants: dict[str, Any],
    summary: ImportSummary,
    rejected: Any,
    on_error: str,
    via: str,
    companies: KnownCompanies,
    transactions: _ChunkTransactions,
    user: User | None,
    arrived: Callable[[list[int]], object] | None = None,
) -> None:
    # Staged before ``begin``: this Python runs while the chunk before is still written.
    staged = stage_cleaned(prepared.cleaned) if prepared.cleaned is not None else None
    transactions.begin()
    errors = _import_chunk(
        prepared,
        mapping,
        constants,
        summary,
        via=via,
        user=user,
        companies=companies,
        staged=staged,
        arrived=arrived,
    )
    for error, value in errors:
        rejected.writerow((error.row, error.column or "", error.field, value, error.message))
    if errors and on_error == "abort":
        raise ImportAborted(
            f"{len({e.row for e, _ in errors})} bad row(s), the first at data row "
            f"{errors[0][0].row}; nothing was saved"
        )
    transactions.done()


def _import_chunk(
    prepared: _Prepared,
    mapping: LeadMapping,
    constants: dict[str, Any],
    summary: ImportSummary,
    *,
    via: str,
    user: User | None,
    companies: KnownCompanies,
    staged: StagedBatch | None,
    arrived: Callable[[list[int]], object] | None = None,
) -> list[tuple[FieldError, str]]:
    errors = prepared.errors
    sources = campaigns = None
    if prepared.sources is not None:
        sources = [
            _source(str(name), constants) if name else constants.get("source")
            for name in prepared.sources
        ]
    if prepared.campaigns is not None:
        sources = sources or [constants.get("source")] * len(prepared.campaigns)
        campaigns = [
            _campaign(str(name), source, constants) if name else constants.get("campaign")
            for name, source in zip(prepared.campaigns, sources, strict=True)
        ]
    if prepared.cleaned is not None:
        batch = capture_leads(
            (),
            channel=mapping.channel,
            via=via,
            source=constants.get("source"),
            campaign=constants.get("campaign"),
            sources=sources,
            campaigns=campaigns,
            team=constants.get("team"),
            user=user,
            allow_history=True,
            cleaned=prepared.cleaned,
            audit_created=False,
            known_companies=companies,
            staged=staged,
            savepoint=False,
        )
        summary.created += batch.n_created
        summary.merged += batch.n_merged
        if prepared.qualified:
            record_qualification(batch.results, prepared.qualified, via=via, user=user)
        if arrived is not None:
            arrived(batch.lead_ids)
    summary.rows += prepared.n_rows
    summary.rejected += len({e.row for e, _ in errors})
    if len(summary.errors) < 20:
        summary.errors.extend(e for e, _ in errors[: 20 - len(summary.errors)])
    return sorted(errors, key=lambda item: (item[0].row or 0, item[0].field))


def _located(
    error: FieldError, frame: pd.DataFrame, position: int, numbers: list[int], mapping: LeadMapping
) -> tuple[FieldError, str]:
    """The error of the chunk's row at ``position``, with its file row number, the file
    column it came from and (the start of) that cell's value."""
    column = mapping.column_for(error.field) or ""
    value = str(frame[column].iloc[position])[:200] if column and column in frame else ""
    return FieldError(error.field, error.message, numbers[position], column), value


def _map_columns(
    frame: pd.DataFrame, mapping: LeadMapping, numbers: list[int]
) -> tuple[pd.DataFrame, list[tuple[FieldError, str]]]:
    """File columns → capture fields: translations, dates, typed custom values, outcome."""
    errors: list[tuple[FieldError, str]] = []
    leads = pd.DataFrame(index=frame.index)
    custom: dict[str, pd.Series] = {}
    for column, target in mapping.columns.items():
        values = frame[column].astype("str").fillna("").str.strip()
        for table in (mapping.translate.get(ALL_COLUMNS), mapping.translate.get(column)):
            if table and values.isin(list(table)).any():
                values = values.astype(object).map(
                    lambda v, t=table: t.get(v, v) if isinstance(v, str) else v
                )
        if column in mapping.dates or target in ("created_at", "closed_at", *QUALIFIED_TARGETS):
            values, bad = _dates(values, mapping.dates.get(column))
            errors += _errors(
                bad,
                numbers,
                target,
                column,
                frame[column],
                "Cannot read the date"
                + (
                    f" with format {mapping.dates[column]!r}"
                    if column in mapping.dates
                    else " (use ISO 8601, or set [dates])"
                ),
            )
        if target.startswith(CUSTOM_PREFIX):
            key = target[len(CUSTOM_PREFIX) :]
            values, bad, message = _typed(values, mapping.fields[key].type)
            errors += _errors(bad, numbers, target, column, frame[column], message)
            custom[key] = values
        else:
            leads[target] = values
    if mapping.won_if_present:
        present = frame[mapping.won_if_present].fillna("").astype(str).str.strip() != ""
        leads["outcome"] = present.map({True: "won", False: mapping.otherwise or "lost"})
    for key, value in mapping.constants.items():
        if key not in ("source", "source_kind", "campaign", "team", "channel") and key not in leads:
            leads[key] = value
    errors += date_errors(leads, frame, numbers, mapping)
    if custom:
        keys = list(custom)
        columns = [custom[k].tolist() for k in keys]
        leads["custom"] = [
            {k: v for k, v in zip(keys, values, strict=True) if v is not None and v != ""}
            for values in zip(*columns, strict=True)
        ]
    return leads, errors


def _errors(
    bad: pd.Series, numbers: list[int], target: str, column: str, raw: pd.Series, message: str
) -> list[tuple[FieldError, str]]:
    return [
        (FieldError(target, message, numbers[i], column), str(raw.iloc[i])[:200])
        for i in bad.to_numpy().nonzero()[0]
    ]


def _dates(values: pd.Series, date_format: str | None) -> tuple[pd.Series, pd.Series]:
    text = values.map(lambda v: "" if v is None else str(v).strip())
    present = text != ""
    parsed = pd.to_datetime(
        text.where(present, None), format=date_format or "ISO8601", errors="coerce", utc=True
    )
    return parsed, present & parsed.isna()


def _typed(values: pd.Series, kind: str) -> tuple[pd.Series, pd.Series, str]:
    """Custom values converted to their registered type; bad ones flagged."""
    blank = values.map(lambda v: v is None or v == "")
    if kind == FieldType.NUMBER:
        numbers = pd.to_numeric(values.where(~blank, None), errors="coerce")
        bad = ~blank & numbers.isna()
        result = numbers.astype(object).where(numbers.notna(), None)
        result = result.map(lambda v: int(v) if isinstance(v, float) and v.is_integer() else v)
        return result, bad, "Not a number"
    if kind == FieldType.BOOLEAN:
        words = {
            "true": True,
            "yes": True,
            "1": True,
            "y": True,
            "false": False,
            "no": False,
            "0": False,
            "n": False,
        }
        result = values.map(
            lambda v: v if isinstance(v, bool) else words.get(str(v).strip().lower())
        )
        bad = ~blank & result.isna()
        return result.astype(object).where(result.notna(), None), bad, "Not yes/no (true/false)"
    if kind == FieldType.DATE:
        parsed, bad = _dates(values, None)
        result = parsed.map(lambda v: None if pd.isna(v) else v.date().isoformat())
        return result, bad, "Cannot read the date (use ISO 8601)"
    return (
        values.map(lambda v: "" if v is None else v if isinstance(v, str) else str(v)),
        blank & False,
        "",
    )


def _constants(mapping: LeadMapping) -> dict[str, Any]:
    """Source, campaign and team named by the mapping (created when missing)."""
    found: dict[str, Any] = {
        "source_kind": mapping.constants.get("source_kind", SourceKind.GENERATION)
    }
    if "team" in mapping.constants:
        slug = str(mapping.constants["team"])
        team = Team.objects.filter(slug=slug).first() or Team.objects.filter(name=slug).first()
        if team is None:
            raise ImportFileError(f"[constants] team {slug!r}: no such team (use its slug)")
        found["team"] = team
    if "source" in mapping.constants:
        found["source"] = _source(str(mapping.constants["source"]), found)
    if "campaign" in mapping.constants:
        found["campaign"] = _campaign(
            str(mapping.constants["campaign"]), found.get("source"), found
        )
    return found


def _source(name: str, constants: dict[str, Any]) -> Source:
    cache: dict[str, Source] = constants.setdefault("_sources", {})
    if name not in cache:
        cache[name], _ = Source.objects.get_or_create(
            name=name[:120], defaults={"kind": constants.get("source_kind", SourceKind.GENERATION)}
        )
    return cache[name]


def _campaign(name: str, source: Source | None, constants: dict[str, Any]) -> Campaign | None:
    if source is None:
        raise ImportFileError("a campaign needs a source: map or set one in [constants]")
    cache: dict[tuple[int, str], Campaign] = constants.setdefault("_campaigns", {})
    if (source.pk, name) not in cache:
        cache[(source.pk, name)], _ = Campaign.objects.get_or_create(source=source, name=name[:160])
    return cache[(source.pk, name)]


def _register_fields(mapping: LeadMapping) -> None:
    """Register every custom field of the mapping in the field registry (idempotent)."""
    for spec in mapping.fields.values():
        FieldDefinition.objects.update_or_create(
            key=spec.key,
            defaults={
                "label": spec.label[:120],
                "type": spec.type,
                "is_post_contact": spec.post_contact,
                "description": spec.description[:300],
                "choices": list(spec.choices),
            },
        )
