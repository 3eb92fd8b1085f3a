"""User-facing errors: each message says what is wrong and how to fix it, on one line."""


class AnyV2VError(Exception):
    """A problem with the user's input or setup; the CLI prints it and exits non-zero."""
