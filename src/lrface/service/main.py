"""The application uvicorn imports (``lrface serve`` passes its options in the environment, so that
every worker process builds the same app)."""
from __future__ import annotations

import os

from .app import create_app

app = create_app(os.environ.get("LRFACE_SERVE_MODEL"), os.environ.get("LRFACE_SERVE_GALLERIES", "galleries"),
                 os.environ.get("LRFACE_SERVE_TOKEN") or None, float(os.environ.get("LRFACE_SERVE_MAX_MB", "20")))
