"""The README's example (a tiny MLP fit, then a gradient of a gradient) runs as printed."""
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_runs(capsys):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert len(code.strip().splitlines()) <= 20
    exec(compile(code, str(README), "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    loss = float(re.search(r"final loss (\S+)", printed[0]).group(1))
    assert loss < 0.01, printed
    assert printed[1] == "(32, 1)", printed
