"""``lrface serve``: the HTTP service (``lrface.service``) under uvicorn."""
from __future__ import annotations

import click

from ..defaults import DEFAULT_MODEL
from .options import POSITIVE, FiniteFloat


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--model", "-m", default=DEFAULT_MODEL, show_default=True, help="the recognizer every request uses")
@click.option("--galleries", default="galleries", show_default=True, type=click.Path(file_okay=False),
              help="folder of gallery databases (NAME.db)")
@click.option("--token", envvar="LRFACE_TOKEN", default=None,
              help="require `Authorization: Bearer TOKEN` on every request but /health (or $LRFACE_TOKEN)")
@click.option("--max-upload-mb", default=20.0, show_default=True, type=FiniteFloat(0.01, 1024.0),
              help="requests with larger bodies are refused before they are read")
@click.option("--workers", default=1, show_default=True, type=POSITIVE, help="uvicorn worker processes")
def serve(host: str, port: int, model: str, galleries: str, token: str | None, max_upload_mb: float,
          workers: int) -> None:
    """Serve verify, detect, embed, galleries and open-set identification over HTTP (OpenAPI docs at
    /docs). Galleries are SQLite files: the service and `lrface gallery` commands can write at once."""
    import os

    import uvicorn

    os.environ.update({"LRFACE_SERVE_MODEL": model, "LRFACE_SERVE_GALLERIES": galleries,
                       "LRFACE_SERVE_MAX_MB": str(max_upload_mb)})
    if token:
        os.environ["LRFACE_SERVE_TOKEN"] = token
    uvicorn.run("lrface.service.main:app", host=host, port=port, workers=workers, log_level="warning")
