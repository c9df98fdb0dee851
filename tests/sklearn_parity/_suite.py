"""Load one of scikit-learn's own test files with emlab's estimator swapped in.

The file is read from the installed scikit-learn (it ships its tests inside the
package), one import line is rewritten so that the estimator under test is emlab's,
and the result is executed as the calling test module: pytest then collects
scikit-learn's tests as they are. The rewrite keeps every line where it was, so a
failure's traceback points at the same line of scikit-learn's file.
"""

from __future__ import annotations

from pathlib import Path

import sklearn


def load(relative_path: str, replacements: dict[str, str], namespace: dict) -> Path:
    """Execute ``sklearn/<relative_path>`` in ``namespace`` with ``replacements`` applied.

    Each key of ``replacements`` must occur in the file exactly once (a scikit-learn
    release that changes the line fails loudly instead of testing its own class).
    """
    path = Path(sklearn.__file__).parent / relative_path
    source = path.read_text()
    for old, new in replacements.items():
        count = source.count(old)
        if count != 1:
            raise RuntimeError(
                f"expected the line {old!r} once in {path}, found it {count} times: "
                "update tests/sklearn_parity for this scikit-learn release"
            )
        assert "\n" not in new, "a replacement keeps the line count"
        source = source.replace(old, new)
    exec(compile(source, str(path), "exec"), namespace)
    return path
