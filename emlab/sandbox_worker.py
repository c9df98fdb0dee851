"""The untrusted half of grading: runs one submitted notebook inside the sandbox.

``python -m emlab.sandbox_worker NOTEBOOK`` runs the notebook's code cells top to bottom
(in IPython, as a kernel would; a cell that fails or takes longer than the cell time limit
is recorded and the next cell runs), then answers the grader's requests on its standard
input and output: the values of names in the notebook's namespace, and calls of the
functions the notebook defined. Everything crosses as data (:func:`encode`/:func:`decode`:
JSON with numbers, strings, lists, dicts, numpy arrays of numbers and the few records of emlab's
listed in :data:`RECORDS`), never as pickles or
code, so the grader that runs the tests in its own process can trust what it decodes to
be data, whatever the student's code did here. The tests themselves never come here.

The student's code can print, crash, loop or lie about its values: it only ever changes
the answers the tests receive from it, as any wrong answer does.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import resource
import signal
import struct
import sys
import types

#: Cells that only use otter (set-up, checks, export): not run when grading (importing
#: otter takes seconds, and the tests are run by the grader instead).
OTTER_CELL = re.compile(
    r"^\s*(#[^\n]*\n\s*)*"
    r"((import otter|grader\s*=\s*otter\.Notebook\(.*\)|from emlab\.grading import \w+"
    r"|grader\.(check|check_all|export)\(.*\))\s*(#[^\n]*)?\n?\s*)+$"
)

#: numpy dtype kinds that cross: booleans, integers, floats, complex numbers.
NUMERIC_KINDS = "biufc"
MAX_DEPTH = 20
MAX_MESSAGE = 256 * 1024 * 1024


#: emlab's own records of data (a prior, EM's history, expected statistics) cross as their fields
#: and are rebuilt on the other side by their own class, found in this list only: a check may
#: hand a student's function a prior, and a student's run of EM may hand back its history.
RECORDS = frozenset(
    {
        "emlab.em:Snapshot",
        "emlab.em:History",
        "emlab.em:EMResult",
        "emlab.map_em:GMMPrior",
        "emlab.map_em:MAPSnapshot",
        "emlab.map_em:MAPHistory",
        "emlab.map_em:MAPResult",
        "emlab.missing:ExpectedStats",
    }
)


def _record_name(value) -> str:
    kind = type(value)
    return f"{kind.__module__}:{kind.__qualname__}"


def _record_class(name: str) -> type:
    import importlib

    if name not in RECORDS:
        raise ValueError(f"not a record that crosses: {name}")
    module, qualname = name.split(":")
    return getattr(importlib.import_module(module), qualname)


class CellTimeout(BaseException):
    """Raised in the student's code when a cell (or a call) takes longer than its limit."""


def _on_alarm(signum, frame):
    raise CellTimeout("this cell took longer than the grader's time limit for one cell")


# ---- the codec (both sides) ------------------------------------------------------------


def encode(value, callables: dict | None = None, depth: int = 0):
    """``value`` as JSON-able data; functions become references into ``callables``."""
    import numpy as np

    if depth > MAX_DEPTH:
        return {"$": "opaque", "type": "too deeply nested"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else {"$": "bigint", "value": str(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$": "float", "value": repr(value)}
    if value is Ellipsis:
        return {"$": "ellipsis"}
    if isinstance(value, complex):
        return {"$": "complex", "re": encode(value.real), "im": encode(value.imag)}
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in NUMERIC_KINDS:
        array = np.ascontiguousarray(value) if isinstance(value, np.ndarray) else np.asarray(value)
        return {
            "$": "array" if isinstance(value, np.ndarray) else "scalar",
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii"),
        }
    if _record_name(value) in RECORDS:
        import dataclasses

        name = _record_name(value)
        if isinstance(value, list):  # a History: its snapshots
            items = [encode(item, callables, depth + 1) for item in value]
            return {"$": "record", "type": name, "items": items}
        if dataclasses.is_dataclass(value):
            pairs = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init}
        else:  # a NamedTuple
            pairs = value._asdict()
        fields = {key: encode(item, callables, depth + 1) for key, item in pairs.items()}
        return {"$": "record", "type": name, "fields": fields}
    if hasattr(value, "__array__") and not isinstance(value, (np.ndarray, np.generic)):
        try:  # a pandas Series, say: its numbers
            array = np.asarray(value)
        except Exception:  # whatever the student's object raised
            array = None
        if array is not None and array.dtype.kind in NUMERIC_KINDS:
            return encode(array, callables, depth + 1)
    if isinstance(value, (list, tuple)):
        items = [encode(item, callables, depth + 1) for item in value]
        return items if type(value) is list else {"$": "tuple", "items": items}
    if isinstance(value, dict):
        pairs = [
            [encode(key, callables, depth + 1), encode(item, callables, depth + 1)]
            for key, item in value.items()
        ]
        return {"$": "dict", "items": pairs}
    if isinstance(value, types.ModuleType):
        return {"$": "module", "name": value.__name__}
    if callable(value) and callables is not None:
        ref = len(callables)
        callables[ref] = value
        return {
            "$": "callable",
            "ref": ref,
            "name": getattr(value, "__name__", type(value).__name__),
            "source": _source(value),
            "globals": _global_refs(value),
        }
    return {"$": "opaque", "type": type(value).__name__}


def _where(function, error: BaseException) -> dict:
    """Where in ``function``'s own code ``error`` was raised: its line, counted from the ``def``
    line (1), and that line's text; empty when the error did not pass through that code."""
    import linecache

    code = getattr(function, "__code__", None)
    if code is None:
        return {}
    line, traceback = None, error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == code.co_filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    if line is None or line < code.co_firstlineno:
        return {}
    text = linecache.getline(code.co_filename, line).strip()[:200]
    return {"line": line - code.co_firstlineno + 1, "text": text}


def _source(function) -> str | None:
    import inspect

    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return None


def _global_refs(function) -> dict:
    """Which modules and functions the names in ``function``'s globals are (by import path)."""
    refs = {}
    namespace = getattr(function, "__globals__", None)
    if not isinstance(namespace, dict):
        return refs
    for name, value in list(namespace.items()):
        if isinstance(value, types.ModuleType):
            refs[name] = value.__name__
        elif isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
            module, qualname = getattr(value, "__module__", None), value.__qualname__
            if module and module != "__main__":
                refs[name] = f"{module}:{qualname}"
    return refs


def decode(data, make_callable=None, depth: int = 0):
    """The value :func:`encode` described; callables through ``make_callable(description)``."""
    import numpy as np

    if depth > MAX_DEPTH + 1:
        raise ValueError("too deeply nested")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(item, make_callable, depth + 1) for item in data]
    if not isinstance(data, dict):
        raise ValueError(f"not a value: {type(data).__name__}")
    kind = data.get("$")
    if kind == "ellipsis":
        return Ellipsis
    if kind == "bigint":
        return int(str(data["value"]))
    if kind == "float":
        return float(str(data["value"]))
    if kind == "complex":
        return complex(float(decode(data["re"])), float(decode(data["im"])))
    if kind in ("array", "scalar"):
        dtype = np.dtype(str(data["dtype"]))
        if dtype.kind not in NUMERIC_KINDS:
            raise ValueError(f"arrays of {dtype} do not cross")
        shape = tuple(int(n) for n in data["shape"])
        raw = base64.b64decode(str(data["data"]), validate=True)
        if math.prod(shape) * dtype.itemsize != len(raw):
            raise ValueError("an array's data does not match its shape")
        array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return array if kind == "array" else array[()]
    if kind == "tuple":
        return tuple(decode(item, make_callable, depth + 1) for item in data["items"])
    if kind == "dict":
        result = {}
        for key, item in data["items"]:
            key = decode(key, make_callable, depth + 1)
            try:
                hash(key)
            except TypeError:
                raise ValueError("a dict key that cannot be hashed") from None
            result[key] = decode(item, make_callable, depth + 1)
        return result
    if kind == "record":
        record = _record_class(str(data.get("type")))
        if "items" in data:
            return record(decode(item, make_callable, depth + 1) for item in data["items"])
        fields = data.get("fields")
        if not isinstance(fields, dict):
            raise ValueError("a record without fields")
        return record(**{str(k): decode(v, make_callable, depth + 1) for k, v in fields.items()})
    if kind == "module":
        return Module(str(data["name"]))
    if kind == "callable" and make_callable is not None:
        return make_callable(data)
    return Opaque(str(data.get("type", "object")))


class Module:
    """A module the notebook's namespace held, by name: the grader imports its own copy."""

    def __init__(self, name: str):
        self.name = name


class Opaque:
    """A value that does not cross as data (an object of a class of the student's, say)."""

    def __init__(self, type_name: str):
        self._type_name = type_name

    def __repr__(self) -> str:
        return f"<{self._type_name} object>"

    def __getattr__(self, name):
        raise AttributeError(
            f"a {self._type_name} object cannot be graded: use numbers, lists or numpy arrays"
        )


def write_message(stream, message: dict) -> None:
    data = json.dumps(message, allow_nan=False).encode("utf-8")
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def read_message(stream) -> dict:
    header = stream.read(8)
    if len(header) != 8:
        raise EOFError("the sandbox closed its channel")
    (size,) = struct.unpack(">Q", header)
    if size > MAX_MESSAGE:
        raise ValueError("a message from the sandbox is too large")
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("the sandbox closed its channel")
    message = json.loads(data.decode("utf-8"))
    if not isinstance(message, dict):
        raise ValueError("a message from the sandbox is not an object")
    return message


# ---- the worker (inside the sandbox) ----------------------------------------------------


def _cell_sources(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        notebook = json.load(handle)
    sources = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        sources.append("".join(source) if isinstance(source, list) else str(source))
    return sources


def _skip_animations() -> None:
    """Explorers' HTML animations (seconds of drawing each) are for the eye: not drawn here.

    Grading needs the notebook's values; ``Explorer.animation()`` returns ``None`` instead.
    """
    widgets = sys.modules.get("emlab.widgets")
    explorer = getattr(widgets, "Explorer", None)
    if explorer is not None and not getattr(explorer, "_grading", False):
        explorer.animation = lambda self, *args, **kwargs: None
        explorer._grading = True


def main(argv: list[str]) -> int:
    notebook, cell_time = argv[0], float(argv[1])
    # a private channel to the grader; the student's prints go nowhere
    channel_in = os.fdopen(os.dup(0), "rb")
    channel_out = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    signal.signal(signal.SIGALRM, _on_alarm)

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    # nothing is shown: figures and rich outputs are not rendered
    shell.display_formatter.active_types = []
    errors, memory_error = [], False
    try:
        sources = _cell_sources(notebook)
    except (OSError, ValueError) as error:
        write_message(channel_out, {"event": "unreadable", "error": str(error)[:500]})
        return 0
    sys.path.insert(0, os.getcwd())
    for index, source in enumerate(sources):
        if not source.strip() or OTTER_CELL.match(source):
            continue
        signal.setitimer(signal.ITIMER_REAL, cell_time)
        try:
            result = shell.run_cell(source, store_history=False)
        except BaseException as error:  # a CellTimeout escaping IPython
            errors.append([index, type(error).__name__, str(error)[:300]])
            continue
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        _skip_animations()
        error = result.error_in_exec or result.error_before_exec
        if error is not None:
            memory_error |= isinstance(error, MemoryError)
            errors.append([index, type(error).__name__, str(error)[:300]])
    callables: dict = {}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    ready = {"event": "ready", "errors": errors[:50], "memory_error": memory_error}
    ready["cpu"] = round(usage.ru_utime + usage.ru_stime, 2)
    write_message(channel_out, ready)
    namespace = shell.user_ns
    while True:
        try:
            request = read_message(channel_in)
        except (EOFError, ValueError):
            return 0
        op = request.get("op")
        if op == "get":
            values = {}
            for name in request.get("names", []):
                if name in namespace and not name.startswith("_"):
                    values[name] = encode(namespace[name], callables)
            write_message(channel_out, {"values": values})
        elif op == "call":
            function = callables.get(request.get("ref"))
            signal.setitimer(signal.ITIMER_REAL, cell_time)
            try:
                args = [decode(arg) for arg in request.get("args", [])]
                result = {"result": encode(function(*args), callables)}
            except BaseException as error:  # whatever the student's code raised
                memory_error |= isinstance(error, MemoryError)
                raised = {"type": type(error).__name__, "message": str(error)[:2000]}
                result = {"raise": {**raised, **_where(function, error)}}
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            write_message(channel_out, result)
        else:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
