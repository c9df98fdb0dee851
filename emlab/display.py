"""Show emlab's own code inside a lesson, without its docstring.

The lessons say "here is the E-step you just derived, as emlab runs it" and print
the function. The docstring is left out: the lesson's prose already says it.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

__all__ = ["show_source", "source_of"]


def source_of(function) -> str:
    """Return the source of ``function`` with its docstring removed."""
    source = textwrap.dedent(inspect.getsource(function))
    tree = ast.parse(source)
    node = tree.body[0]
    lines = source.splitlines()
    body = node.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
    ):
        if isinstance(body[0].value.value, str):
            start, end = body[0].lineno - 1, body[0].end_lineno
            lines = lines[:start] + lines[end:]
    return "\n".join(lines).rstrip() + "\n"


def show_source(function) -> None:
    """Print the source of ``function`` (an emlab step, say) without its docstring."""
    print(source_of(function), end="")
