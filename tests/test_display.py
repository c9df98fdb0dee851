"""show_source prints a function's code without its docstring."""

from emlab import show_source
from emlab.display import source_of
from emlab.gmm import e_step


def documented(x):
    """A docstring
    over two lines."""
    return x + 1  # the body stays


def test_source_of_drops_the_docstring_and_keeps_the_body():
    text = source_of(documented)
    assert "docstring" not in text and "over two lines" not in text
    assert text.startswith("def documented(x):") and "return x + 1  # the body stays" in text


def test_show_source_prints_an_emlab_step(capsys):
    show_source(e_step)
    printed = capsys.readouterr().out
    assert printed.startswith("def e_step(") and "logsumexp" in printed and '"""' not in printed
