"""The one error type of fpgax's tools.

A ``FpgaxError`` is a problem with the user's input or environment (a bad file, a missing tool,
a card that is not there): the ``fpgax`` command prints ``fpgax: error: <message>`` and exits with
``exit_code`` (2 unless a subclass says otherwise). Its message names the file and position where
there is one. Anything else that escapes a command is a bug in fpgax: the command prints the
traceback and asks for a report.
"""


class FpgaxError(Exception):
    """A clear, user-facing error; the message says what is wrong and, where it can, how to fix it."""

    exit_code = 2
