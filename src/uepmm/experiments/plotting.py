"""The one way the library draws: matplotlib's object API, without pyplot or ``matplotlib.use``.

A :class:`matplotlib.figure.Figure` made directly belongs to no global figure manager and
needs no backend: ``fig.subplots()`` gives the axes, ``fig.savefig(path)`` renders with
Agg, and the figure is freed like any other object.  Library code never touches the
caller's pyplot state.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MISSING_MATPLOTLIB", "new_figure"]

#: What to do when matplotlib (the optional ``plot`` extra) is missing.
MISSING_MATPLOTLIB = 'drawing figures needs matplotlib; install it with pip install "uepmm[plot]"'


def new_figure(figsize: tuple[float, float], *, required: bool = False) -> Any:
    """A fresh ``Figure(figsize=figsize)``, or ``None`` when matplotlib is not installed.

    With ``required=True`` a missing matplotlib raises ``ImportError`` instead.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        if required:
            raise ImportError(MISSING_MATPLOTLIB) from None
        return None
    return Figure(figsize=figsize)
