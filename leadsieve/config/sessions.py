"""The session engine (``SESSION_ENGINE``): Django's database sessions, stamped when written.

Every write of a session pushes its expiry ``SESSION_COOKIE_AGE`` seconds ahead (the row's
``expire_date`` and the cookie). The store records that moment in the session itself, under
``RENEWED_AT``, so ``SessionIdleTimeoutMiddleware`` can tell how old the expiry is without a
write of its own; a sign-in (``login`` saves the session) counts as the first renewal.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.base_session import AbstractBaseSession

# Unix seconds of the session's last write (and so of its expiry's last renewal).
RENEWED_AT = "_leadsieve_renewed_at"


class SessionStore(db.SessionStore):
    def create_model_instance(
        self,
        data: dict[str, Any],  # Any: whatever the session holds
    ) -> AbstractBaseSession:
        return super().create_model_instance({**data, RENEWED_AT: int(time.time())})
