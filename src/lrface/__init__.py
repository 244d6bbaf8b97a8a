"""lrface: face recognition across resolutions."""
from .errors import LrfaceError
from .models import create_model, list_models
from .recognizer import Recognizer
from .routed import DEFAULT_MODEL, load_recognizer

__version__ = "0.1.0"
__all__ = ["DEFAULT_MODEL", "LrfaceError", "Recognizer", "create_model", "list_models", "load_recognizer",
           "__version__"]
