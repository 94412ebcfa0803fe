"""Tests of the text data: shipped Shakespeare and Tang poems, English -> Chinese number
pairs, and the token pipelines for language models. Each test's name states the fact it checks."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from course_lib.data import (
    SHAKESPEARE_SHA256,
    TANG_SHA256,
    DatasetNotFoundError,
    Poem,
    chinese_number,
    encode_pairs,
    english_number,
    lm_dataset,
    lm_eval_dataset,
    load_shakespeare,
    load_tang_poems,
    number_translation_pairs,
    pair_line,
    poems_text,
    split_poems,
)

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
README = DATA / "README.md"


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty data folder in place of the repository's ``data/``."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def poems() -> list[Poem]:
    return load_tang_poems()


# --- Shakespeare -------------------------------------------------------------------------


def test_shipped_shakespeare_sha256_is_the_constant_and_the_value_in_data_readme() -> None:
    digest = hashlib.sha256((DATA / "shakespeare.txt").read_bytes()).hexdigest()
    assert digest == SHAKESPEARE_SHA256
    assert f"`{SHAKESPEARE_SHA256}`" in README.read_text(encoding="utf-8")


def test_shakespeare_has_1115394_chars_split_1003854_train_and_111540_val_in_order() -> None:
    corpus = load_shakespeare()
    assert len(corpus.train) == 1_003_854 == int(0.9 * 1_115_394)  # floor of 90 %
    assert len(corpus.val) == 111_540 and len(corpus.text) == 1_115_394
    raw = (DATA / "shakespeare.txt").read_bytes()
    assert corpus.text.encode("utf-8") == raw and raw.isascii() and b"\r" not in raw
    assert corpus.train.startswith("ALL'S WELL THAT ENDS WELL\n")


def test_load_shakespeare_without_the_file_raises_dataset_not_found_naming_the_rebuild(
    data_dir: Path,
) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"shakespeare\.txt[\s\S]*make_text_data"):
        load_shakespeare()


def test_load_shakespeare_refuses_an_altered_file_and_says_how_to_restore(data_dir: Path) -> None:
    text = (DATA / "shakespeare.txt").read_text(encoding="utf-8")
    (data_dir / "shakespeare.txt").write_text(text.replace("WELL", "Well", 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"SHA-256[\s\S]*git checkout"):
        load_shakespeare()


# --- Tang poems --------------------------------------------------------------------------


def test_shipped_tang_poems_sha256_is_the_constant_and_the_value_in_data_readme() -> None:
    digest = hashlib.sha256((DATA / "tang300.json").read_bytes()).hexdigest()
    assert digest == TANG_SHA256
    assert f"`{TANG_SHA256}`" in README.read_text(encoding="utf-8")


def test_load_tang_poems_refuses_an_altered_file_and_names_the_apt_package(data_dir: Path) -> None:
    raw = (DATA / "tang300.json").read_bytes()
    (data_dir / "tang300.json").write_bytes(raw.replace("杜甫".encode(), "杜普".encode(), 1))
    with pytest.raises(ValueError, match=r"SHA-256[\s\S]*fortunes-zh"):
        load_tang_poems()


def test_tang_file_parses_into_313_poems_each_with_title_author_and_lines(
    poems: list[Poem],
) -> None:
    assert len(poems) == 313
    for p in poems:
        assert p.title and p.author and p.lines and all(p.lines)
        assert not p.title.startswith("《") and not p.author.startswith("作者")
    assert (poems[0].title, poems[0].author) == ("感遇・其一", "张九龄")
    assert poems[0].lines[0] == "兰叶春葳蕤，桂华秋皎洁。"


def test_tang_poems_contain_no_colour_codes_or_stray_whitespace(poems: list[Poem]) -> None:
    raw = (DATA / "tang300.json").read_text(encoding="utf-8")
    assert "\x1b" not in raw and "\\u001b" not in raw and "[32m" not in raw
    for p in poems:
        for line in (p.title, p.author, *p.lines, *p.preface):
            assert line == line.strip() and "\n" not in line


def test_exactly_the_six_poems_titled_with_preface_have_a_preface(poems: list[Poem]) -> None:
    with_preface = [p.title for p in poems if p.preface]
    assert len(with_preface) == 6 and all(t.endswith("并序") for t in with_preface)
    assert [p for p in poems if p.title.endswith("并序") and not p.preface] == []


def test_split_poems_is_by_whole_poem_deterministic_and_covers_all_once(
    poems: list[Poem],
) -> None:
    train, val = split_poems(poems, seed=0)
    assert (len(train), len(val)) == (282, 31)
    assert split_poems(poems, seed=0) == (train, val)
    assert split_poems(poems, seed=1)[1] != val
    assert sorted(map(id, train + val)) == sorted(map(id, poems))


def test_poems_text_is_blocks_of_title_author_then_lines_separated_by_blank_lines(
    poems: list[Poem],
) -> None:
    text = poems_text(poems[:2])
    first, second = text.split("\n\n")
    assert first.split("\n") == ["《感遇・其一》张九龄", *poems[0].lines]
    assert second.split("\n")[0] == "《梦李白・其二》杜甫"
    assert poems_text(poems[:1], with_titles=False) == "\n".join(poems[0].lines)
    with_pref = next(p for p in poems if p.preface)
    head = f"《{with_pref.title}》{with_pref.author}"
    lines = [head, *with_pref.preface, *with_pref.lines]
    assert poems_text([with_pref], with_prefaces=True).split("\n") == lines


# --- number translation pairs ------------------------------------------------------------


@pytest.mark.parametrize(
    "n,english,chinese",
    [
        (0, "zero", "零"),
        (10, "ten", "十"),
        (15, "fifteen", "十五"),
        (105, "one hundred five", "一百零五"),
        (110, "one hundred ten", "一百一十"),
        (342, "three hundred forty-two", "三百四十二"),
        (1005, "one thousand five", "一千零五"),
        (1010, "one thousand ten", "一千零一十"),
        (2000, "two thousand", "二千"),
        (10000, "ten thousand", "一万"),
        (10100, "ten thousand one hundred", "一万零一百"),
        (20001, "twenty thousand one", "二万零一"),
        (99999, "ninety-nine thousand nine hundred ninety-nine", "九万九千九百九十九"),
    ],
)
def test_number_words_follow_the_documented_conventions(n: int, english: str, chinese: str) -> None:
    assert (english_number(n), chinese_number(n)) == (english, chinese)


def test_translation_splits_are_disjoint_sized_as_asked_and_repeat_with_the_seed() -> None:
    pairs = number_translation_pairs(seed=3, num_train=500, num_held_out=100, num_ood=100)
    sets = [{p.number for p in s} for s in (pairs.train, pairs.held_out, pairs.ood)]
    assert [len(s) for s in sets] == [500, 100, 100]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    again = number_translation_pairs(seed=3, num_train=500, num_held_out=100, num_ood=100)
    assert again.train == pairs.train and again.ood == pairs.ood
    other = number_translation_pairs(seed=4, num_train=500, num_held_out=100, num_ood=100)
    assert other.train != pairs.train


def test_ood_numbers_have_more_digits_than_every_train_and_held_out_number() -> None:
    pairs = number_translation_pairs(seed=0, num_train=2000, num_held_out=200, num_ood=200)
    longest_in = max(len(str(p.number)) for p in pairs.train + pairs.held_out)
    assert longest_in == 4 and min(len(str(p.number)) for p in pairs.ood) == 5
    assert all(0 <= p.number < 10_000 for p in pairs.train + pairs.held_out)


def test_every_pair_is_its_numbers_english_and_chinese_and_cn2an_reads_it_back() -> None:
    import cn2an

    pairs = number_translation_pairs(seed=0, num_train=300, num_held_out=50, num_ood=50)
    for p in pairs.train + pairs.held_out + pairs.ood:
        assert p.english == english_number(p.number) and p.chinese == chinese_number(p.number)
        assert cn2an.cn2an(p.chinese, "strict") == p.number
        assert " and " not in f" {p.english} " and "," not in p.english


def test_translation_pairs_reject_overlapping_ranges_and_oversized_requests() -> None:
    with pytest.raises(ValueError, match="ood_range"):
        number_translation_pairs(in_range=(0, 1000), ood_range=(500, 5000))
    with pytest.raises(ValueError, match="more numbers"):
        number_translation_pairs(num_train=95, num_held_out=10, in_range=(0, 100))
    with pytest.raises(TypeError, match="num_train must be an integer"):
        number_translation_pairs(num_train=10.5)
    with pytest.raises(ValueError, match=r"in_range\[1\] must be an integer >= 11"):
        number_translation_pairs(in_range=(10, 5))
    with pytest.raises(TypeError, match="in_range must be a pair"):
        number_translation_pairs(in_range=100)
    with pytest.raises(ValueError, match=r"val_fraction must be > 0\.0 and < 1\.0"):
        split_poems([Poem("a", "b", ("c",)), Poem("d", "e", ("f",))], val_fraction=1.0)


def test_encode_pairs_scores_the_target_and_its_newline_and_pads_with_newlines() -> None:
    pairs = number_translation_pairs(seed=0, num_train=50, num_held_out=0, num_ood=0).train
    text = "".join(pair_line(p) for p in pairs)
    chars = sorted(set(text))

    class Tok:  # one id per character, independent of course_lib.text
        def encode(self, s):
            return np.array([chars.index(c) for c in s], np.int32)

    length = max(len(pair_line(p)) for p in pairs) + 2
    x, y, w = encode_pairs(pairs, Tok(), length)
    assert x.shape == y.shape == w.shape == (50, length)
    assert x.dtype == y.dtype == np.int32 and w.dtype == np.float32
    newline = chars.index("\n")
    for i, pair in enumerate(pairs):
        line = pair_line(pair)
        n = len(line) - 1
        assert "".join(chars[c] for c in x[i, :n]) == line[:-1]
        assert "".join(chars[c] for c in y[i, :n]) == line[1:]
        assert np.all(x[i, n:] == newline) and np.all(y[i, n:] == newline)
        assert np.all(w[i, n:] == 0)  # padding is not scored
        # the scored predictions are exactly the Chinese characters and the final newline
        assert "".join(chars[c] for c in y[i][w[i] == 1]) == pair.chinese + "\n"
    with pytest.raises(ValueError, match="more than length"):
        encode_pairs(pairs, Tok(), 5)
    with pytest.raises(TypeError, match="NumberPair"):
        encode_pairs([("one", "一")], Tok(), 20)


# --- token pipelines ---------------------------------------------------------------------


TOKENS = np.random.default_rng(0).integers(0, 1000, 5_000)  # int64; every 16-window unique


def test_lm_dataset_gives_int32_b_by_t_batches_with_y_equal_to_x_shifted_by_one() -> None:
    batches = list(lm_dataset(TOKENS, context_length=16, batch_size=4, seed=0).take(5))
    for x, y in batches:
        x, y = x.numpy(), y.numpy()
        assert x.shape == y.shape == (4, 16) and x.dtype == y.dtype == np.int32
        np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
        for row_x, row_y in zip(x, y, strict=True):
            i = next(i for i in range(len(TOKENS) - 16) if (TOKENS[i : i + 16] == row_x).all())
            np.testing.assert_array_equal(row_y, TOKENS[i + 1 : i + 17])


def test_lm_dataset_offsets_reach_both_ends_and_never_run_past_the_last_token() -> None:
    tokens = np.arange(12, dtype=np.int32)  # offsets 0..3 for T = 8
    firsts = np.concatenate([x.numpy()[:, 0] for x, _ in lm_dataset(tokens, 8, 64).take(4)])
    assert set(firsts.tolist()) == {0, 1, 2, 3}


def test_lm_dataset_same_seed_gives_the_same_batches_and_other_seeds_differ() -> None:
    def first(seed: int) -> np.ndarray:
        return np.stack([x.numpy() for x, _ in lm_dataset(TOKENS, 8, 4, seed=seed).take(3)])

    np.testing.assert_array_equal(first(7), first(7))
    assert not np.array_equal(first(7), first(8))


def test_lm_dataset_iterator_restored_from_a_checkpoint_continues_with_the_same_batches(
    tmp_path: Path,
) -> None:
    import tensorflow as tf

    it = iter(lm_dataset(TOKENS, 8, 4, seed=1))
    for _ in range(3):
        next(it)
    path = tf.train.Checkpoint(iterator=it).save(str(tmp_path / "ckpt"))
    expected = [next(it)[0].numpy() for _ in range(3)]
    fresh = iter(lm_dataset(TOKENS, 8, 4, seed=1))  # as after a restart of the process
    tf.train.Checkpoint(iterator=fresh).restore(path)
    np.testing.assert_array_equal([next(fresh)[0].numpy() for _ in range(3)], expected)


@pytest.mark.parametrize("n,T,B", [(101, 10, 3), (41, 8, 5), (9, 8, 2), (2, 4, 1)])
def test_eval_windows_predict_every_token_of_the_split_exactly_once(n: int, T: int, B: int) -> None:
    tokens = np.arange(1, n + 1, dtype=np.int32)
    batches = [(x.numpy(), y.numpy(), w.numpy()) for x, y, w in lm_eval_dataset(tokens, T, B)]
    xs, ys, ws = zip(*batches, strict=True)
    x, y, w = (np.concatenate(a).reshape(-1) for a in (xs, ys, ws))
    assert all(b.shape[1] == T for b in xs) and max(len(b) for b in xs) <= B
    assert w.sum() == n - 1 and set(np.unique(w).tolist()) <= {0.0, 1.0}
    np.testing.assert_array_equal(x[w == 1], tokens[:-1])
    np.testing.assert_array_equal(y[w == 1], tokens[1:])
    assert (w[: n - 1] == 1).all() and (w[n - 1 :] == 0).all()  # padding only at the end


def test_token_pipelines_reject_too_short_or_non_integer_token_arrays() -> None:
    with pytest.raises(ValueError, match="more than 8 tokens"):
        lm_dataset(np.arange(8), 8, 2)
    with pytest.raises(ValueError, match="1-D integer"):
        lm_dataset(np.zeros(100, np.float32), 8, 2)
    with pytest.raises(ValueError, match="2 tokens"):
        lm_eval_dataset(np.array([3]), 8, 2)


def test_data_readme_documents_the_rebuild_commands_and_licences() -> None:
    text = README.read_text(encoding="utf-8")
    assert "python tools/make_text_data.py shakespeare" in text
    assert "python tools/make_text_data.py tang300" in text
    assert re.search(r"GPL-3\.0", text) and "CC BY 2.5" in text


GPL3_SHA256 = (
    "3972dc9744f6499f0f9b2dbf76696f2ae7ad8af9b23dde66d6af86c9dfb36986"  # the FSF's gpl-3.0.txt
)


def test_gpl3_text_ships_with_the_gpl_licensed_tang_poems_and_the_readme_links_it() -> None:
    licence = DATA / "LICENSES" / "GPL-3.0.txt"
    assert (
        hashlib.sha256(licence.read_bytes()).hexdigest() == GPL3_SHA256
    )  # GPL-3 §4: the licence travels along
    assert "Version 3, 29 June 2007" in licence.read_text(encoding="utf-8")
    assert "(LICENSES/GPL-3.0.txt)" in README.read_text(encoding="utf-8")


def test_every_creative_commons_licence_named_in_data_readme_has_its_uri() -> None:
    text = README.read_text(encoding="utf-8")
    assert (
        "https://creativecommons.org/licenses/by/2.5/" in text
    )  # CC BY 2.5 §4(a): the URI with every copy
    assert "https://creativecommons.org/licenses/by-sa/3.0/" in text  # CC BY-SA 3.0, the same rule
    for target in re.findall(r"\]\((LICENSES/[^)]+)\)", text):
        assert (DATA / target).is_file(), target
