"""User-facing errors: the CLI prints them as one line and exits non-zero, no traceback."""


class CdpError(Exception):
    """A problem the user can fix (bad argument, bad input file, missing setting).

    The message must name what is wrong and where: file, row and field when there is one.
    """

    exit_code = 2
