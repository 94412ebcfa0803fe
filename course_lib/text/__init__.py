"""Text: tokenisation, the metrics that score generated text, and retrieval.

* :mod:`~course_lib.text.tokenization` -- character and byte-level BPE tokenisers; BPE merges
  by hand.
* :mod:`~course_lib.text.metrics` -- bits per token, perplexity, BLEU, chrF, ROUGE, exact
  match, the SQuAD token F1 of two answers.
* :mod:`~course_lib.text.dedup` -- exact and near-duplicate documents: normalised hashing,
  shingles, Jaccard, MinHash signatures and LSH banding.
* :mod:`~course_lib.text.retrieval` -- BM25 search over the course's own text.
"""
