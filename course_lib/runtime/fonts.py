"""Chinese text in figures: a CJK font as matplotlib's fallback, or one clear line saying why not.

matplotlib's default font, DejaVu Sans, has no Chinese characters: a title such as
"静夜思" is drawn as empty boxes, with a ``Glyph ... missing from font(s)`` warning per
character. Since matplotlib 3.6 ``font.family`` may be a list, and each character is drawn
with the first font of the list that has it. :func:`use_cjk_fallback` looks for an installed
CJK font (:data:`CJK_FAMILIES`, in order of preference: Simplified Chinese first, since the
course's Chinese is Simplified) and appends it **after** the default family, so Latin text,
digits and math look exactly as before and only the Chinese characters come from the CJK font.
One limit: a label that holds math (``"$\\log p$ per 字"``) is drawn entirely by matplotlib's
mathtext, whose fonts have no Chinese, so keep Chinese and ``$...$`` in separate labels.

matplotlib remembers the fonts it found in a cache file and does not look again when a font
is installed later (``sudo apt install fonts-noto-cjk`` after the first plot). When its list
has no CJK font, the system's font files whose names look like CJK fonts
(:data:`CJK_FILE_HINT`) and that the list lacks are added to it for this session
(``FontManager.addfont``), so a freshly installed font works without deleting the cache.

When no CJK font exists, :func:`use_cjk_fallback` prints ONE line (what to install) and
silences matplotlib's per-character "Glyph missing" warnings, which would repeat the same
news once per character. :func:`course_lib.start` calls it. (It lives in ``runtime``, layer
0, rather than in ``viz``, so that ``start`` may call it: it sets up this machine's fonts
and draws nothing.)
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: Installed fonts with Chinese characters, most preferred first. Noto Sans CJK and Source
#: Han Sans are the same design (Google's and Adobe's names); WenQuanYi, Droid Sans Fallback
#: and AR PL are older free fonts of Linux distributions; the rest ship with Windows
#: (Microsoft YaHei, SimHei) and macOS (PingFang, Hiragino, Heiti, Songti, Arial Unicode).
CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Noto Sans CJK KR",
    "Noto Sans CJK HK",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "Source Han Serif CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "AR PL New Sung",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "Songti SC",
    "Arial Unicode MS",
)

#: File names (lower case) of CJK fonts, for fonts installed after matplotlib built its cache.
CJK_FILE_HINT = re.compile(
    r"cjk|sourcehan|wqy|wenquanyi|droidsansfallback|uming|ukai|bsmi|gbsn|msyh|yahei|"
    r"simhei|simsun|pingfang|hiragino|stheiti|songti|arialuni|notosanssc|notoserifsc"
)

#: Characters a font must have to count as a Chinese font (a common word of the course).
PROBE = "中文诗"

#: matplotlib's warning for a missing Chinese (or Japanese, Korean) character or punctuation
#: mark, e.g. "Glyph 20013 (\N{CJK UNIFIED IDEOGRAPH-4E2D}) missing from font(s) DejaVu Sans."
#: Hidden only when no CJK font exists (the one line said so); other missing glyphs still warn.
GLYPH_WARNING = (
    r"Glyph \d+ \(\\N\{(CJK|IDEOGRAPHIC|FULLWIDTH|HALFWIDTH|HIRAGANA|KATAKANA|HANGUL|"
    r"[A-Z ]*(CORNER|LENTICULAR|ANGLE|TORTOISE SHELL) BRACKET)[^}]*\}\) missing from font"
)

#: The line printed when no CJK font is installed.
NO_FONT_MESSAGE = (
    "Chinese labels in figures will show as empty boxes: no CJK font found. Install one "
    "(Debian/Ubuntu: sudo apt install fonts-noto-cjk; other systems: Noto Sans CJK from "
    "https://github.com/notofonts/noto-cjk) and restart the kernel."
)


@dataclass(frozen=True)
class FontFile:
    """One font matplotlib knows: its family name and file (a ``FontEntry`` has both)."""

    name: str
    fname: str


def _has_glyphs(fname: str, text: str = PROBE) -> bool:
    """True when the font file ``fname`` has every character of ``text``."""
    from matplotlib import ft2font

    try:
        font = ft2font.FT2Font(fname)
    except (OSError, RuntimeError, ValueError):
        return False
    return all(font.get_char_index(ord(c)) != 0 for c in text)


def find_cjk_font(
    fonts: Iterable[Any] | None = None, families: Sequence[str] = CJK_FAMILIES
) -> str | None:
    """The first of ``families`` among ``fonts`` whose file has Chinese characters, or None.

    ``fonts``: objects with ``.name`` and ``.fname`` (default: matplotlib's font list,
    ``font_manager.fontManager.ttflist``). A family counts only if its file really has the
    characters of :data:`PROBE` (a name alone can lie: a subset font, a broken file).
    """
    if fonts is None:
        from matplotlib import font_manager

        fonts = font_manager.fontManager.ttflist
    by_name: dict[str, list[str]] = {}
    for font in fonts:
        by_name.setdefault(font.name, []).append(font.fname)
    for family in families:
        if any(_has_glyphs(fname) for fname in by_name.get(family, [])):
            return family
    return None


def add_uncached_cjk_files(system_files: Iterable[str] | None = None) -> list[str]:
    """Add to matplotlib's font list the CJK font files it lacks; returns the files added.

    ``system_files``: font files to consider (default: ``font_manager.findSystemFonts()``);
    only names matching :data:`CJK_FILE_HINT` that the list does not hold yet are added.
    """
    from matplotlib import font_manager

    manager = font_manager.fontManager
    known = {entry.fname for entry in manager.ttflist}
    if system_files is None:
        system_files = font_manager.findSystemFonts()
    added = []
    for path in system_files:
        name = path.replace("\\", "/").rsplit("/", 1)[-1].lower().replace("-", "")
        if path in known or not CJK_FILE_HINT.search(name):
            continue
        try:
            manager.addfont(path)
        except (OSError, RuntimeError, ValueError):
            continue
        added.append(path)
    return added


_configured: str | None = None


def use_cjk_fallback(
    *,
    fonts: Iterable[Any] | None = None,
    system_files: Iterable[str] | None = None,
    quiet: bool = False,
) -> str | None:
    """Make matplotlib draw Chinese characters with an installed CJK font; return its name.

    Appends the font to ``rcParams["font.family"]`` after the default family (matplotlib
    >= 3.6 falls back per character, so everything that is not Chinese looks as before).
    Calling it again changes nothing. Without a CJK font: prints :data:`NO_FONT_MESSAGE`
    (unless ``quiet``), hides matplotlib's per-character "Glyph ... missing" warnings and
    returns ``None``. ``fonts`` and ``system_files`` replace matplotlib's font list and the
    system's font files (for tests).
    """
    global _configured
    import matplotlib

    if _configured is not None and fonts is None:
        return _configured
    name = find_cjk_font(fonts)
    if name is None and fonts is None and add_uncached_cjk_files(system_files):
        name = find_cjk_font()  # a font installed after matplotlib built its cache
    if name is None:
        if not quiet:
            print(NO_FONT_MESSAGE)
        warnings.filterwarnings("ignore", message=GLYPH_WARNING, category=UserWarning)
        return None
    family = matplotlib.rcParams["font.family"]
    families = [family] if isinstance(family, str) else list(family)
    if name not in families:
        matplotlib.rcParams["font.family"] = [*families, name]
    if fonts is None:
        _configured = name
    return name
