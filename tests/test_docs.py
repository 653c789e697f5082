"""The generated derivative overview is up to date with the ops' docstrings, and every
Function in minigrad/ops documents its math."""
import subprocess
import sys
from pathlib import Path

import minigrad.ops  # noqa: F401
from minigrad.autograd import Function

ROOT = Path(__file__).resolve().parents[1]


def _all_functions(cls=Function):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_functions(sub)


def test_every_op_has_a_docstring():
    missing = [f.__qualname__ for f in _all_functions()
               if f.__module__.startswith("minigrad.ops") and not f.__dict__.get("__doc__")]
    assert not missing, f"Functions without a docstring: {missing}"


def test_derivatives_md_is_up_to_date():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_derivatives.py"),
                           "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
