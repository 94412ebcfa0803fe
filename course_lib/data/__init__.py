"""Offline datasets for the course: MNIST, Fashion-MNIST, 2-D toy data, text corpora, number
translation pairs, sentences labelled with their sentiment, and tf.data pipelines.

Importing this package does not import TensorFlow; ``make_dataset``, ``binarize_dynamic_tf``,
``lm_dataset`` and ``lm_eval_dataset`` import it when first called. Where every dataset comes
from: ``data/README.md``.
"""

from course_lib.data.images import (
    SHIPPED_MNIST_SHA256,
    DatasetNotFoundError,
    ImageData,
    binarize_dynamic,
    binarize_static,
    file_sha256,
    load_fashion_mnist,
    load_mnist,
    read_idx,
    to_float,
)
from course_lib.data.pipelines import (
    binarize_dynamic_tf,
    lm_dataset,
    lm_eval_dataset,
    make_dataset,
)
from course_lib.data.sentiment import (
    SENTIMENT_SHA256,
    SentimentData,
    bag_of_words,
    build_vocabulary,
    load_sentiment_sentences,
    read_npm_fixtures,
    split_sentences,
    tokenize,
)
from course_lib.data.text import (
    SHAKESPEARE_SHA256,
    TANG_SHA256,
    NumberPair,
    Poem,
    TextCorpus,
    TranslationPairs,
    chinese_number,
    encode_pairs,
    english_number,
    load_shakespeare,
    load_tang_poems,
    number_translation_pairs,
    pair_line,
    poems_text,
    split_poems,
)
from course_lib.data.toy import ring_mode_centers, ring_of_gaussians, two_moons

__all__ = [
    "SENTIMENT_SHA256",
    "SHAKESPEARE_SHA256",
    "SHIPPED_MNIST_SHA256",
    "TANG_SHA256",
    "DatasetNotFoundError",
    "ImageData",
    "NumberPair",
    "Poem",
    "SentimentData",
    "TextCorpus",
    "TranslationPairs",
    "bag_of_words",
    "binarize_dynamic",
    "binarize_dynamic_tf",
    "binarize_static",
    "build_vocabulary",
    "chinese_number",
    "encode_pairs",
    "english_number",
    "file_sha256",
    "lm_dataset",
    "lm_eval_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "load_sentiment_sentences",
    "load_shakespeare",
    "load_tang_poems",
    "make_dataset",
    "number_translation_pairs",
    "pair_line",
    "poems_text",
    "read_idx",
    "read_npm_fixtures",
    "ring_mode_centers",
    "ring_of_gaussians",
    "split_poems",
    "split_sentences",
    "to_float",
    "tokenize",
    "two_moons",
]
