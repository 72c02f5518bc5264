"""Index classes the lead tables need beyond Django's own."""

from __future__ import annotations

import copy
from typing import Any

from django.db import models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models.expressions import OrderBy


class NullsLastIndex(models.Index):
    """An index whose descending keys put nulls last, as the lead lists sort (``nulls_last``).

    PostgreSQL stores a ``DESC`` key nulls first, so ``ORDER BY rating DESC NULLS LAST`` cannot
    walk a plain ``rating DESC`` index and sorts the whole team instead; this class writes
    ``DESC NULLS LAST`` there. SQLite has no ``NULLS`` clause in ``CREATE INDEX`` and already
    keeps nulls lowest (last when descending): it gets the plain index.
    """

    def create_sql(
        self, model: Any, schema_editor: BaseDatabaseSchemaEditor, using: str = "", **kwargs: Any
    ) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        index = copy.copy(self)
        index.expressions = tuple(
            OrderBy(expression.expression, descending=True, nulls_last=True)
            if isinstance(expression, OrderBy) and expression.descending
            else expression
            for expression in self.expressions
        )
        return super(NullsLastIndex, index).create_sql(model, schema_editor, using=using, **kwargs)
