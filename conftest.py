"""pytest runs in the `ci` profile: quiet, the smallest sizes.

The README lists each notebook's measured time per profile.

Set here, before any test or notebook kernel starts, so both inherit it. A maintainer can
still run another profile on purpose: COURSE_PROFILE=student pytest chapters
"""

import os

os.environ.setdefault("COURSE_PROFILE", "ci")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ start-up chatter
os.environ.setdefault("MPLBACKEND", "Agg")


# --- Reference outputs of tagged notebook cells --------------------------------------------
# Notebooks are committed without outputs, so nbval alone would have nothing to compare a
# `# NBVAL_CHECK_OUTPUT` cell against. The expected text of such a cell is kept in its
# metadata instead (key below; written by `python tools/record_expected_outputs.py NB`), and
# this hook hands it to nbval as the cell's reference output before the cell runs.
EXPECTED_OUTPUT_KEY = "expected_output"


def _stores_models(path) -> bool:
    """Whether a notebook stores trained models in the model cache for other chapters."""
    text = str(path)
    if not text.endswith(".ipynb"):
        return False
    with open(text, encoding="utf-8") as f:
        source = f.read()
    return "ModelCache()" in source and ".store(" in source


def pytest_collection_modifyitems(session, config, items):
    import nbformat

    # The notebooks that store models other chapters load (06/01's GPT, 06/02's translator)
    # run first: xdist hands out whole modules in collection order, so by the time a chapter
    # that reuses one of them starts, the model is in the cache (a miss would only cost time:
    # the chapter trains the model itself). The sort is stable: the rest keeps its order.
    stores = {}
    items.sort(key=lambda item: not stores.setdefault(item.path, _stores_models(item.path)))

    for item in items:
        cell = getattr(item, "cell", None)  # nbval's notebook-cell items carry the cell
        if cell is None or EXPECTED_OUTPUT_KEY not in cell.get("metadata", {}):
            continue
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text=cell.metadata[EXPECTED_OUTPUT_KEY])
        ]
        cell.execution_count = 1  # nbval compares only cells that have been run
