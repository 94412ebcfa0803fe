"""course_lib.runtime.fonts: Chinese labels in figures get a CJK font, or one clear line.

The machine that runs the course's CI has Noto CJK installed (Debian's ``fonts-noto-cjk``);
the tests that need a real CJK font skip without one. The path of a machine without any
CJK font is tested with a fake font list.
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib import font_manager

from course_lib.runtime import fonts
from course_lib.runtime.fonts import (
    CJK_FAMILIES,
    NO_FONT_MESSAGE,
    FontFile,
    add_uncached_cjk_files,
    find_cjk_font,
    use_cjk_fallback,
)

TITLE = "静夜思 (Quiet Night Thought), 李白"
DEJAVU = font_manager.findfont("DejaVu Sans")


def system_cjk_files() -> list[str]:
    """CJK font files on this machine, whether or not matplotlib's cache lists them."""
    return [
        path
        for path in font_manager.findSystemFonts()
        if fonts.CJK_FILE_HINT.search(path.rsplit("/", 1)[-1].lower().replace("-", ""))
    ]


needs_cjk_font = pytest.mark.skipif(
    not system_cjk_files(), reason="no CJK font installed (Debian: apt install fonts-noto-cjk)"
)


@pytest.fixture(autouse=True)
def clean_state(monkeypatch):
    """Every test starts unconfigured, restores rcParams and the warning filters."""
    monkeypatch.setattr(fonts, "_configured", None)
    with matplotlib.rc_context(), warnings.catch_warnings():
        yield
    plt.close("all")


def draw(title: str = TITLE) -> list[str]:
    """Draw a figure with ``title`` and return the messages of the warnings it raised."""
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.set_title(title)
    ax.set_xlabel("字 per token")
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", append=True)  # after any filter set before
        fig.canvas.draw()
    return [str(w.message) for w in caught]


@needs_cjk_font
def test_an_installed_cjk_font_is_appended_after_the_default_family(capsys):
    name = use_cjk_fallback()
    assert name in CJK_FAMILIES
    assert matplotlib.rcParams["font.family"] == ["sans-serif", name]
    assert capsys.readouterr().out == ""
    # per-character fallback: Latin from DejaVu Sans, Chinese from the CJK font
    files = font_manager.fontManager._find_fonts_by_props(font_manager.FontProperties())
    assert files[0] == DEJAVU and len(files) == 2
    assert draw() == []
    # calling it again changes nothing
    assert use_cjk_fallback() == name
    assert matplotlib.rcParams["font.family"] == ["sans-serif", name]


def test_without_a_cjk_figures_warn_once_per_character():
    # the problem this module solves: DejaVu Sans has no Chinese characters
    messages = draw()
    assert len([m for m in messages if "missing from font" in m]) >= 5


def test_no_cjk_font_prints_one_line_and_no_glyph_warnings(capsys):
    assert use_cjk_fallback(fonts=[FontFile("DejaVu Sans", DEJAVU)]) is None
    out = capsys.readouterr().out
    assert out == NO_FONT_MESSAGE + "\n"
    assert "sudo apt install fonts-noto-cjk" in out and "github.com/notofonts/noto-cjk" in out
    assert matplotlib.rcParams["font.family"] == ["sans-serif"]
    assert draw() == []  # the boxes are drawn, but the warnings per character are gone
    # a glyph that is not Chinese still warns
    assert any("missing from font" in m for m in draw("\N{LINEAR B SYLLABLE B008 A}"))


def test_a_font_named_like_a_cjk_font_must_have_the_characters():
    liar = FontFile("Noto Sans CJK SC", DEJAVU)  # the right name on a file without Chinese
    assert find_cjk_font([liar]) is None


@needs_cjk_font
def test_a_font_installed_after_matplotlib_built_its_cache_is_found(monkeypatch):
    cjk = system_cjk_files()
    path = next((p for p in cjk if "SansCJK-Regular" in p), cjk[0])
    manager = font_manager.fontManager
    without = [e for e in manager.ttflist if e.fname not in cjk]
    monkeypatch.setattr(manager, "ttflist", without)  # as if the cache predates the fonts
    manager._findfont_cached.cache_clear()
    assert find_cjk_font() is None
    assert add_uncached_cjk_files([path, DEJAVU]) == [path]  # DejaVu: not a CJK file name
    name = find_cjk_font()
    assert name is not None and any(e.fname == path and e.name == name for e in manager.ttflist)
    assert add_uncached_cjk_files([path]) == []  # known now: not added twice
    manager._findfont_cached.cache_clear()
