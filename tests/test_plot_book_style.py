"""Tests of the book's inline figure format: kexue.plot.book_png and use_book_style (Agg backend, no display)."""

import base64
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from kexue.plot import BOOK_DPI, BOOK_PIXEL_RATIO, BOOK_PNG_COLORS, book_png, use_book_style  # noqa: E402


@pytest.fixture
def fig():
    with matplotlib.rc_context():
        use_book_style()
        f, ax = plt.subplots(figsize=(4.0, 2.5))
        x = np.linspace(0, 6, 300)
        for k in range(4):
            ax.plot(x, np.sin(x + k), label=f"k = {k}")
        ax.legend()
        ax.set(title="four sines", xlabel="x")
        yield f
        plt.close(f)


def _image(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def test_retina_pixels_and_css_size(fig):
    data, meta = book_png(fig)
    im = _image(data)
    assert BOOK_PIXEL_RATIO == 2
    # tight bounding box (0.1 inch of padding a side) of a 4-inch figure, drawn at ratio x BOOK_DPI
    assert 3.5 * BOOK_DPI * BOOK_PIXEL_RATIO < im.size[0] <= 4.2 * BOOK_DPI * BOOK_PIXEL_RATIO + 2
    assert meta == {"width": round(im.size[0] / 2)}  # no height: a narrow page scales the figure, not squash it
    one, meta1 = book_png(fig, ratio=1)
    assert abs(_image(one).size[0] - meta["width"]) <= 1 and abs(meta1["width"] - meta["width"]) <= 1


def test_palette_is_small_and_nearly_lossless(fig):
    data, _ = book_png(fig)
    raw, _ = book_png(fig, colors=None)
    q, full = _image(data), _image(raw)
    assert q.mode == "P" and len(q.getcolors(BOOK_PNG_COLORS + 1)) <= BOOK_PNG_COLORS
    assert full.mode == "RGBA"
    err = np.abs(np.asarray(q.convert("RGB"), dtype=int) - np.asarray(full.convert("RGB"), dtype=int)).max(-1)
    assert err.mean() < 1.0, f"mean error {err.mean():.2f} grey levels"
    assert len(base64.b64decode(data)) < 0.6 * len(base64.b64decode(raw))


def test_transparent_figures_keep_their_alpha(fig):
    fig.patch.set_alpha(0.0)
    for ax in fig.axes:
        ax.patch.set_alpha(0.0)
    im = _image(book_png(fig)[0]).convert("RGBA")
    assert np.asarray(im)[..., 3].min() == 0


def test_an_empty_figure_shows_nothing():
    f = plt.figure()
    try:
        assert book_png(f) is None
    finally:
        plt.close(f)


@pytest.mark.parametrize("kwargs, exc, name", [
    (dict(ratio=0), ValueError, "ratio"),
    (dict(ratio=2.0), TypeError, "ratio"),
    (dict(ratio=True), TypeError, "ratio"),
    (dict(colors=1), ValueError, "colors"),
    (dict(colors=300), ValueError, "colors"),
    (dict(colors="256"), TypeError, "colors"),
])
def test_bad_arguments_are_named(fig, kwargs, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        book_png(fig, **kwargs)


def test_not_a_figure_is_refused():
    with pytest.raises(TypeError, match="^fig:"):
        book_png(np.zeros((3, 3)))


def test_use_book_style_makes_ipython_show_book_pngs(fig, monkeypatch):
    pytest.importorskip("matplotlib_inline")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    with matplotlib.rc_context():
        use_book_style()
    data, meta = shell.display_formatter.format(fig)
    assert "image/png" in data and "image/svg+xml" not in data
    im = _image(data["image/png"])
    assert im.mode == "P" and meta["image/png"]["width"] == round(im.size[0] / BOOK_PIXEL_RATIO)
