"""A writer thread for a long SQLite import: the big inserts of one chunk run in SQLite's C
code while this thread's Python prepares the rows of the next ones.

Why: an import of a million leads spends about as long in SQLite (B-tree and index inserts,
foreign-key lookups) as in Python (deciding merges, building rows), one after the other on
one core. A statement of ``executemany`` binds each row from Python, holding the GIL, so a
second thread cannot help it; ``INSERT ... SELECT ... FROM json_each(?)`` carries all the
rows as one JSON text and runs as one ``sqlite3_step``, with the GIL released.

How it stays correct:

* The writer uses the same connection, so the writes stay in the importing transaction and
  the importing thread's later reads see them.
* Every query the importing thread sends through Django first waits until the writer has
  run everything submitted before it (an execute wrapper), so no read can miss a write that
  was submitted earlier, whatever the code path. Commits are not queries: whoever commits
  calls ``wait`` first (``run.py`` does, per chunk).
* A failed statement is re-raised, as Django's database error, by the next ``wait`` (or
  query); the writer runs nothing more until then, and the transaction rolls back as usual.

Only ``insert_rows``/``update_rows`` calls with explicit ids go to the writer (the bulk of an
import: leads, activities, merge records, audit rows); everything else runs in the importing
thread as before. PostgreSQL never uses it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

_active: DeferredWrites | None = None
NO_ROWS = "[]"


def active_writer() -> DeferredWrites | None:
    """The writer of the import running in this thread, if any."""
    if _active is not None and _active.owner is threading.current_thread():
        return _active
    return None


class DeferredWrites:
    """Statements run in order by one thread on the importing thread's SQLite connection."""

    def __init__(self) -> None:
        self.owner = threading.current_thread()
        self.statements: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.discard = False

    def start(self) -> None:
        connection.ensure_connection()
        raw = connection.connection
        from django.db.backends.sqlite3.base import SQLiteCursorWrapper

        # Django opens SQLite connections with check_same_thread=False; the two threads
        # never use the connection at the same time (see the module docstring).
        cursor = raw.cursor(factory=SQLiteCursorWrapper)
        self.thread = threading.Thread(
            target=self._run, args=(cursor,), name="leadsieve-import-writer", daemon=True
        )
        self.thread.start()

    def submit(self, sql: str, rows: str) -> None:
        """Run ``sql`` after everything submitted before it; its one ``%s`` placeholder is
        ``rows``, a JSON array read with ``json_each`` (an empty array must do nothing)."""
        if self.error is not None:
            self.wait()  # raises it: nothing runs after a failed statement
        self.statements.put((sql, rows))

    def wait(self) -> None:
        """Return once every submitted statement ran; raise the first failure, if any."""
        self.statements.join()
        error, self.error = self.error, None
        if error is not None:
            with connection.wrap_database_errors:
                raise error

    def cancel(self) -> None:
        """Drop the statements still queued and wait for the one running now, if any."""
        self.discard = True
        self.statements.join()
        self.discard = False
        self.error = None

    def stop(self, *, discard: bool = False) -> None:
        """Stop the thread once the statement running now ends; the queued ones run first,
        or with ``discard`` are dropped (the transaction is about to roll back). Errors are
        dropped: call ``wait`` first to see them."""
        self.discard = discard
        if self.thread is not None:
            self.statements.put(None)
            self.thread.join()
            self.thread = None
        self.error = None

    def _run(self, cursor: Any) -> None:  # Any: Django's SQLite cursor wrapper
        try:
            while (item := self.statements.get()) is not None:
                try:
                    if self.error is None and not self.discard:
                        sql, rows = item
                        cursor.execute(sql, [rows])
                        # The cached statement keeps a copy of the text it was last bound
                        # to (megabytes per chunk and table); bind it to an empty list.
                        cursor.execute(sql, [NO_ROWS])
                except BaseException as error:  # re-raised by the importing thread
                    self.error = error
                finally:
                    self.statements.task_done()
            self.statements.task_done()
        finally:
            cursor.close()

    def _before_query(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,  # Any: whatever the caller binds
        many: bool,
        context: dict[str, Any],
    ) -> Any:  # Any: the cursor method's result
        if threading.current_thread() is self.owner:
            self.wait()
        return execute(sql, params, many, context)


@contextmanager
def deferred_writes() -> Iterator[DeferredWrites | None]:
    """Route this thread's big ``insert_rows``/``update_rows`` to a writer thread while the
    block runs (SQLite only; otherwise, or inside another such block, yields None and
    changes nothing). Leaving the block waits for the writer (and raises its error); on an error
    it drops what is still queued. A transaction the writes belong to must see the writer
    idle before it ends: ``wait`` before a commit, ``cancel`` before a rollback."""
    global _active
    if connection.vendor != "sqlite" or _active is not None:
        yield None
        return
    writer = DeferredWrites()
    writer.start()
    _active = writer
    failed = True
    try:
        with connection.execute_wrapper(writer._before_query):
            yield writer
            writer.wait()
        failed = False
    finally:
        _active = None
        writer.stop(discard=failed)
