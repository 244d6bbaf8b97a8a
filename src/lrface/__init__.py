"""lrface: face recognition across resolutions."""
from .errors import LrfaceError
from .models import create_model, list_models
from .recognizer import Recognizer

__version__ = "0.1.0"
__all__ = ["LrfaceError", "Recognizer", "create_model", "list_models", "__version__"]
