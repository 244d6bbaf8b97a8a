"""lrface over HTTP (``lrface serve``): ``create_app`` builds the FastAPI application."""
