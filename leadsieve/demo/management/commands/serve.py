"""``leadsieve serve``: the production server (docs/decisions/0004-web-server.md).

gunicorn's asyncio worker reads every request whole (headers and body, so a slow client
holds no thread), then ``BufferedWsgiApp`` hands it to Django in one of ``--threads``
threads per worker process. Static files are served by whitenoise; the access log masks
emails and phone numbers (``leadsieve.config.logs``).
"""

from __future__ import annotations

import gc
import os
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.urls import get_resolver

DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4
DEFAULT_TIMEOUT_S = 30


class Command(BaseCommand):
    help = (
        "Serve LeadSieve with gunicorn's asyncio worker (workers × threads running Django), "
        "static files through whitenoise."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("LEADSIEVE_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("LEADSIEVE_WORKERS", DEFAULT_WORKERS)),
            help="Worker processes (env LEADSIEVE_WORKERS; default %(default)s).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("LEADSIEVE_THREADS", DEFAULT_THREADS)),
            help="Threads running requests in each worker, once read whole "
            "(env LEADSIEVE_THREADS; default %(default)s).",
        )
        parser.add_argument(
            "--timeout",
            type=int,
            default=DEFAULT_TIMEOUT_S,
            help="Seconds a worker may stay silent, and a request body may stall, before "
            "the worker is restarted or the request refused with 408 (default %(default)s).",
        )
        parser.add_argument(
            "--no-collectstatic", action="store_true", help="Skip collecting static files first."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1 or options["threads"] < 1 or options["timeout"] < 1:
            raise CommandError("--workers, --threads and --timeout must be at least 1")
        if not options["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        from gunicorn.app.base import BaseApplication

        from leadsieve.config.asgi import build_application

        application = build_application(
            threads=options["threads"], read_timeout_s=options["timeout"]
        )
        # Every view loaded now (the URL conf imports them, with pandas and the engine), not
        # on a worker's first request: what is loaded lives as long as the server, and
        # moved out of the garbage collector's sight before the workers fork, a
        # full collection walks only what requests create. In process, a 1,000-lead bulk
        # call used 126–133 ms of CPU, 108–116 ms with this freeze (bench_bulk_capture, two
        # runs each, SQLite). The forked workers also keep sharing those memory pages.
        get_resolver().url_patterns  # noqa: B018  (imports the views)
        gc.collect()
        gc.freeze()
        gunicorn_options = {
            "bind": options["bind"],
            "workers": options["workers"],
            # gunicorn's asyncio worker, accepting one connection per wake-up (its module).
            "worker_class": "leadsieve.config.gunicorn_worker.AsgiWorker",
            "timeout": options["timeout"],
            "accesslog": "-",
            "errorlog": "-",
            "logger_class": "leadsieve.config.logs.MaskedAccessLogger",
            # One list of trusted proxies for the app (client address) and gunicorn (scheme):
            # LEADSIEVE_TRUSTED_PROXIES; empty trusts none.
            "forwarded_allow_ips": ",".join(str(n) for n in settings.LEADSIEVE_TRUSTED_PROXIES),
        }

        class LeadSieveServer(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
            def load_config(self) -> None:
                for key, value in gunicorn_options.items():
                    self.cfg.set(key, value)

            def load(self) -> Any:
                return application

        self.stdout.write(
            f"LeadSieve on http://{options['bind']}/ "
            f"({options['workers']} workers × {options['threads']} threads, "
            f"database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})"
        )
        LeadSieveServer().run()
