"""The one exception type lrface raises for bad user input; the CLI prints it as one line."""


class LrfaceError(Exception):
    """A user-facing error: bad input, missing data, no face. Printed without a traceback."""
