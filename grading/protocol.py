"""The grader's requests to the grading kernel: code whose first line is a marker, a token and an operation.

The grader sends them as silent execute requests; :class:`grading.kernel.GuardedKernel` answers them
itself, before IPython sees the code (so no input or AST transformer can touch them), and puts its
answer in the reply's ``user_expressions`` under :data:`REPLY_KEY`. The token is drawn by the grader
when the kernel starts and taken by the kernel from the first request, before any student code runs;
a cell that merely imitates the marker is run as ordinary code.
"""

from __future__ import annotations

import json
from builtins import dict, isinstance, len  # bound now, before learner code can replace them

__all__ = ["MARKER", "REPLY_KEY", "OPERATIONS", "encode", "decode"]

MARKER = "#relucourse-grading"
REPLY_KEY = "relucourse-grading"
# snapshot: record the pristine state (first request only); restore: put it back (before a learner's
# cell); enter_test: put it back and prepare the test's namespace; leave_test: report and undo what
# changed while the test ran.
OPERATIONS = ("snapshot", "restore", "enter_test", "leave_test")


def encode(token: str, operation: str, payload: dict) -> str:
    """The request's code: ``#relucourse-grading <token> <operation>`` then the JSON payload."""
    if operation not in OPERATIONS:
        raise ValueError(f"Invalid operation: {operation!r} (expected one of {OPERATIONS})")
    if not token.isalnum():
        raise ValueError(f"Invalid token: {token!r} (expected letters and digits)")
    return f"{MARKER} {token} {operation}\n{json.dumps(payload)}"


def decode(code: str) -> tuple[str, str, dict] | None:
    """``(token, operation, payload)`` if `code` is a request, else None."""
    if not code.startswith(MARKER + " "):
        return None
    head, _, body = code.partition("\n")
    parts = head.split(" ")
    if len(parts) != 3 or parts[2] not in OPERATIONS:
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return (parts[1], parts[2], payload) if isinstance(payload, dict) else None
