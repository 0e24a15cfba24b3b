"""The one plotting helper (Figure object API, no pyplot) and the one CSV writer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from uepmm.experiments.tables import write_csv

SRC = Path(__file__).resolve().parents[2] / "src"


def _python(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(SRC)})


def test_figures_are_drawn_without_pyplot(tmp_path):
    pytest.importorskip("matplotlib")
    _python(
        "import sys\n"
        "from uepmm.experiments.figure_plots import plot_fig8\n"
        "from uepmm.experiments.figure_tables import fig8_table\n"
        f"assert plot_fig8(fig8_table(), {str(tmp_path / 'fig8.png')!r}) is not None\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    assert (tmp_path / "fig8.png").stat().st_size > 10_000


def test_without_matplotlib_plots_are_none_or_say_what_to_install(tmp_path):
    _python(
        "import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.figure'] = None\n"
        "from uepmm.experiments.plotting import new_figure\n"
        "from uepmm.experiments.figure_plots import plot_fig9\n"
        "assert new_figure((4, 3)) is None\n"
        f"assert plot_fig9([], {str(tmp_path / 'x.png')!r}) is None\n"
        "try:\n"
        "    new_figure((4, 3), required=True)\n"
        "except ImportError as exc:\n"
        "    assert 'uepmm[plot]' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('no ImportError')\n"
    )


def test_write_csv_uses_newline_line_ends_and_given_columns(tmp_path):
    path = tmp_path / "rows.csv"
    write_csv(path, [{"a": 1, "b": 0.5}, {"a": 2, "b": "x"}])
    assert path.read_bytes() == b"a,b\n1,0.5\n2,x\n"
    write_csv(path, [], columns=("a", "b"))
    assert path.read_bytes() == b"a,b\n"
    write_csv(path, [{"b": 1, "a": 2}], columns=["a", "b"])
    assert path.read_bytes() == b"a,b\n2,1\n"
