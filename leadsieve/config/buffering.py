"""An ASGI front for the WSGI app: the whole request is read before a thread is given to it.

Why (docs/decisions/0004-web-server.md): a thread that reads a request body from a slow
client is a thread no other request can use; ten clients sending 7 of 1,000 announced
bytes stalled every thread of the old gthread server. Here the event loop of gunicorn's
asyncio worker reads headers and body (a thousand slow clients cost a few coroutines), and
only a complete request reaches Django's WSGI handler, in a fixed pool of ``threads``
threads per process. Being WSGI and a fixed pool, each thread keeps its own database
connection between requests (``CONN_MAX_AGE``), and no Django code runs on the loop.

What callers may rely on:
- a body idle for ``read_timeout_s`` gets ``408`` and the app never sees it;
- a body longer than ``max_body_bytes`` (announced or sent) gets ``413``, unread;
- a client that disconnects before its body is complete costs no thread;
- a response is sent in one piece when it fits ``STREAM_AFTER_BYTES`` (the usual case: no
  round trip between the thread and the loop per chunk); a longer one (a CSV export) is
  streamed from its thread, which waits while the client reads (backpressure).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from tempfile import SpooledTemporaryFile
from typing import IO, Any

# ASGI messages and scopes are plain dicts whose value types depend on the key.
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Coroutine[Any, Any, None]]
WsgiApp = Callable[..., Iterable[bytes]]

SPOOL_TO_DISK_BYTES = 1_048_576
STREAM_AFTER_BYTES = 262_144


class _Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BufferedWsgiApp:
    """``BufferedWsgiApp(wsgi_app, threads=4)`` is an ASGI application (HTTP and lifespan)."""

    def __init__(
        self,
        wsgi_app: WsgiApp,
        *,
        threads: int,
        read_timeout_s: float = 30.0,
        max_body_bytes: int = 110 * 1_048_576,
    ) -> None:
        self.wsgi_app = wsgi_app
        self.threads = threads
        self.read_timeout_s = read_timeout_s
        self.max_body_bytes = max_body_bytes
        self._executor: ThreadPoolExecutor | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        # Made on first use, in the serving process (gunicorn forks workers after loading).
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="request")
        return self._executor

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: none served here
            return
        with SpooledTemporaryFile(max_size=SPOOL_TO_DISK_BYTES) as body:
            try:
                size = await self._read_body(scope, receive, body)
                if size is None:
                    # The client left: this answer goes nowhere, but the access log shows
                    # a client error (nginx's 499) rather than the server's default 500.
                    await _send_plain(send, 400, "The client closed the connection.")
                    return
            except _Refusal as refusal:
                await _send_plain(send, refusal.status, refusal.message)
                return
            body.seek(0)
            environ = build_environ(scope, body)
            # The body's real length, also for a chunked request (Django reads CONTENT_LENGTH).
            environ["CONTENT_LENGTH"] = str(size)
            loop = asyncio.get_running_loop()
            answer = await loop.run_in_executor(self.executor, self._run_app, environ, loop, send)
            if answer is not None:  # small enough: sent from here, in one piece
                status, headers, content = answer
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": content})

    async def _read_body(self, scope: Message, receive: Receive, body: IO[bytes]) -> int | None:
        """Read the whole body into ``body``: its length, or None if the client left first."""
        announced = _content_length(scope)
        if announced is not None and announced > self.max_body_bytes:
            raise _Refusal(413, f"The request body is larger than {self.max_body_bytes} bytes.")
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout_s)
            except TimeoutError:
                raise _Refusal(408, "The request body was not sent in time.") from None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _Refusal(413, f"The request body is larger than {self.max_body_bytes} bytes.")
            body.write(chunk)
            if not message.get("more_body", False):
                return size

    def _run_app(
        self, environ: dict[str, Any], loop: asyncio.AbstractEventLoop, send: Send
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """In a pool thread: run the app; return a short answer, or stream a long one."""
        started: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers
            ]
            return lambda data: None  # the legacy write() callable: Django never uses it

        iterable = self.wsgi_app(environ, start_response)
        try:
            chunks: list[bytes] = []
            size = 0
            iterator: Iterator[bytes] = iter(iterable)
            for chunk in iterator:
                chunks.append(chunk)
                size += len(chunk)
                if size > STREAM_AFTER_BYTES:
                    break
            else:
                return started["status"], started["headers"], b"".join(chunks)

            def send_now(message: Message) -> None:
                asyncio.run_coroutine_threadsafe(send(message), loop).result()

            send_now(
                {
                    "type": "http.response.start",
                    "status": started["status"],
                    "headers": started["headers"],
                }
            )
            send_now({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
            for chunk in iterator:
                if chunk:
                    send_now({"type": "http.response.body", "body": chunk, "more_body": True})
            send_now({"type": "http.response.body", "body": b""})
            return None
        finally:
            # Django's response.close() sends request_finished (database connections are
            # released there), so it must run here, in the thread that ran the request.
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._executor is not None:
                    self._executor.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return


def _content_length(scope: Message) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            with contextlib.suppress(ValueError):
                return int(value)
    return None


async def _send_plain(send: Send, status: int, message: str) -> None:
    content = message.encode("utf-8")
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(content)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def build_environ(scope: Message, body: IO[bytes]) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP scope (PEP 3333: text as latin-1 of the raw bytes)."""
    script_name = scope.get("root_path", "").encode("utf-8").decode("latin-1")
    path_info = scope["path"].encode("utf-8").decode("latin-1")
    if script_name and path_info.startswith(script_name):
        path_info = path_info[len(script_name) :]
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
    for raw_name, raw_value in scope.get("headers", []):
        if b"_" in raw_name:
            continue  # as gunicorn does: "X_Forwarded_For" must not pass for X-Forwarded-For
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        if name not in {"CONTENT_LENGTH", "CONTENT_TYPE"}:
            name = f"HTTP_{name}"
        value = raw_value.decode("latin-1")
        environ[name] = f"{environ[name]},{value}" if name in environ else value
    return environ
