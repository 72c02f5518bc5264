"""Start-up cost: a Django process (web worker, import command) does not load the model's
libraries until it scores with a trained model."""

from __future__ import annotations

import os
import subprocess
import sys

CHECK = """
import sys
import django
django.setup()
heavy = sorted(m for m in ("lightgbm", "sklearn", "scipy") if m in sys.modules)
print(",".join(heavy))
"""


def test_django_starts_without_lightgbm_or_scikit_learn() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "leadsieve.config.settings",
        "SECRET_KEY": "startup-test-only",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""
