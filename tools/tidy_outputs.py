"""Make an executed notebook's stored outputs the same from run to run.

Re-executing a lesson that did not change should not change its file; otherwise every
``make execute`` rewrites every lesson and the real changes are lost in the diff. Three
things differed between two runs of the same lesson, and this script settles each:

- **Widget ids.** ipywidgets names every widget model with a random ``uuid4``, kept in
  the outputs that show a widget and in the saved widget state (``metadata.widgets``)
  that the book and JupyterLab use to draw it without a kernel. The models are renamed
  to ids made from the notebook's name and their order: first the models the outputs
  show, cell by cell, then the models those refer to (``IPY_MODEL_<id>``), breadth
  first; any left over in the order of their state's text.
- **Animation ids.** matplotlib's ``to_jshtml`` names each animation's HTML elements
  with a random ``uuid4`` too; each gets an id made from the notebook's name and the
  animation's place in it.
- **Stream splits.** Lines printed by one cell arrive as one or several ``stream``
  outputs depending on timing; consecutive ones of the same stream are merged, as
  nbval does before it compares them.

    python tools/tidy_outputs.py notebooks/*.ipynb

``make execute`` runs it after executing the lessons.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import deque
from pathlib import Path

STATE = "application/vnd.jupyter.widget-state+json"
VIEW = "application/vnd.jupyter.widget-view+json"
REFERENCE = re.compile(r"IPY_MODEL_([0-9a-f]{32})")
ANY_ID = re.compile(r"[0-9a-f]{32}")


def _shown_models(notebook: dict) -> list[str]:
    """The model ids of the widgets the outputs show, in cell and output order."""
    return [
        output["data"][VIEW]["model_id"]
        for cell in notebook.get("cells", [])
        for output in cell.get("outputs", [])
        if VIEW in output.get("data", {})
    ]


def stable_widget_ids(notebook: dict, name: str) -> dict:
    """Rename ``notebook``'s widget models to ids made from ``name`` and their order.

    Parameters
    ----------
    notebook : dict
        An executed notebook as parsed JSON (``nbformat`` 4); changed in place.
    name : str
        What the ids are made from, with each model's place in the order: the
        notebook's file name, so that two lessons never share an id.

    Returns
    -------
    dict
        ``notebook``, whose model ids are now ``md5(f"{name}:{index}")`` in hex.
    """
    widgets = notebook.get("metadata", {}).get("widgets", {}).get(STATE)
    shown = _shown_models(notebook)
    state = widgets["state"] if widgets else {}
    texts = {model: json.dumps(value, sort_keys=True) for model, value in state.items()}

    order, seen = [], set()
    queue = deque(shown)
    leftovers = sorted(texts, key=lambda model: ANY_ID.sub("", texts[model]))
    while queue or leftovers:
        if not queue:  # models no output shows and none refers to
            queue.append(leftovers.pop(0))
        model = queue.popleft()
        if model in seen:
            continue
        seen.add(model)
        order.append(model)
        queue.extend(REFERENCE.findall(texts.get(model, "")))
    mapping = {
        model: hashlib.md5(f"{name}:{index}".encode()).hexdigest()
        for index, model in enumerate(order)
    }

    def rename(text: str) -> str:
        return ANY_ID.sub(lambda match: mapping.get(match.group(), match.group()), text)

    if widgets:
        widgets["state"] = {
            mapping[model]: json.loads(rename(text)) for model, text in texts.items()
        }
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(VIEW)
            if view is not None:
                view["model_id"] = mapping[view["model_id"]]
    return notebook


ANIMATION = re.compile(r"_anim_img([0-9a-f]{32})")


def stable_animation_ids(notebook: dict, name: str) -> dict:
    """Rename each matplotlib animation's ``uuid4`` in the HTML outputs (in place).

    The ``k``-th animation of the notebook gets ``md5(f"{name}:animation:{k}")``.
    """
    count = 0
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html is None:
                continue
            text = "".join(html) if isinstance(html, list) else html
            for old in dict.fromkeys(ANIMATION.findall(text)):
                new = hashlib.md5(f"{name}:animation:{count}".encode()).hexdigest()
                text = text.replace(old, new)
                count += 1
            output["data"]["text/html"] = (
                text.splitlines(keepends=True) if isinstance(html, list) else text
            )
    return notebook


def coalesce_streams(notebook: dict) -> dict:
    """Merge consecutive ``stream`` outputs of the same name in each cell (in place)."""
    for cell in notebook.get("cells", []):
        merged = []
        for output in cell.get("outputs", []):
            last = merged[-1] if merged else None
            if (
                last is not None
                and output.get("output_type") == "stream"
                and last.get("output_type") == "stream"
                and output.get("name") == last.get("name")
            ):
                text = "".join(last["text"]) + "".join(output["text"])
                last["text"] = text.splitlines(keepends=True)
            else:
                merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged
    return notebook


def tidy(notebook: dict, name: str) -> dict:
    """All three of this module's changes, in place; returns ``notebook``."""
    stable_widget_ids(notebook, name)
    stable_animation_ids(notebook, name)
    return coalesce_streams(notebook)


def main(paths: list[str]) -> int:
    for path in map(Path, paths):
        text = path.read_text(encoding="utf-8")
        notebook = tidy(json.loads(text), path.name)
        # as nbformat writes notebooks: one-space indent, sorted keys, a final newline
        new = json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        if new != text:
            path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
