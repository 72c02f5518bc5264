"""gunicorn's asyncio (ASGI) worker, accepting one connection per wake-up (ADR 0004).

asyncio's server accepts up to its ``backlog`` (gunicorn leaves it at 100) connections each
time the listening socket wakes it. With workers sharing the socket, the first worker awake
took every connection of a burst (16 of 16 measured with wrk) while the other idled, so a
2-worker server worked with one core. Accepting one at a time lets the worker less busy
take the next one. The kernel's queue keeps gunicorn's ``backlog`` setting (2,048).
"""

from __future__ import annotations

from typing import Any

from gunicorn.workers.gasgi import ASGIWorker

ACCEPTS_PER_WAKE_UP = 1


class AsgiWorker(ASGIWorker):  # type: ignore[misc]  # gunicorn is untyped
    async def _serve(self) -> None:
        create_server = self.loop.create_server

        async def create_balanced_server(*args: Any, **kwargs: Any) -> Any:
            kwargs["backlog"] = ACCEPTS_PER_WAKE_UP
            server = await create_server(*args, **kwargs)
            kwargs["sock"].listen(self.cfg.backlog)  # the kernel's queue, as configured
            return server

        self.loop.create_server = create_balanced_server
        await super()._serve()
