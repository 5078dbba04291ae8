"""Constants chosen by measurement, in one place, each with where its figures are.

A leaf module (it imports nothing). The figures are in docs/benchmarks.md ("What was tried":
Retrieval, Extractive answers; "The bilingual lexicon") and docs/llm.md; they were measured
on xquad-dev's even questions and read on the odd ones. What a user may want to change is a setting
(``config.Settings``) whose default comes from here: ``ANSWER_PASSAGES`` is
``ASSISTANT_ANSWER_PASSAGES``, ``SEARCH_DEPTH`` is ``ASSISTANT_SEARCH_DEPTH``.
"""

from __future__ import annotations

# -- retrieval (docs/benchmarks.md, "What was tried / Retrieval", "The bilingual lexicon") --

#: Characters of whole sentences one chunk gathers (besides its token limit), so that the
#: passages a question reads first are short: the best-ranked two fit in about 1000
#: characters. 600 chosen on xquad-dev's even half by hit@500/1000/2000c against 500, 700,
#: 800, 1000 and none (docs/benchmarks.md, "Passages of at most 600 characters").
CHUNK_CHARS = 600
#: Reciprocal-rank fusion's k: small, so that the top ranks decide (k ∈ {5, 20, 60} measured;
#: 5 best at 1000 and 2000 characters). Follow-up questions fuse their two rankings with it too.
RRF_K = 5
#: Candidates each ranking (dense, words, trigram) gives the fusion.
SEARCH_DEPTH = 50
#: Most translations of one word or phrase a question is expanded with (1…20 measured: 8).
TRANSLATIONS = 8
#: Most chunks the terms of one word query may match together (``retrieval.within``; the
#: trigram query gets half): a bound on BM25's work at 100k chunks. 2000 / 5000 / 10000 /
#: none measured on 10k and 100k replicated chunks (docs/benchmarks.md, issue 15).
ROW_BUDGET = 5000

# -- the extractive answer (docs/benchmarks.md, "What was tried / Extractive answers") ------

#: Passages (the best-ranked of those retrieved) the answer quotes from; a question about
#: what people think reads every retrieved passage, since each person may speak in another.
ANSWER_PASSAGES = 5
#: Relevance of a sentence: this share rarity-weighted word overlap, the rest embedding
#: similarity (0.7 overlap + 0.3 embedding measured against 0.3 + 0.7).
LEXICAL_WEIGHT = 0.7
#: Relevance bonus of a sentence from the passage ranked r (from 0): RANK_BONUS / (r + 1).
RANK_BONUS = 0.05
#: Sentences below this share of the best one's relevance are not quoted.
KEEP_RATIO = 0.5
#: Two sentences whose vectors are this similar are one sentence (the second is not quoted).
DUPLICATE_SIMILARITY = 0.9
#: Confidence that a sentence is on the question's topic (what the abstention threshold
#: applies to): this share the question's words it holds (``overlap.coverage``), the rest
#: embedding (0.3 / 0.4 / 0.5 measured on xquad-dev's even half; docs/benchmarks.md,
#: "Abstention by the question's words").
CONFIDENCE_LEXICAL_WEIGHT = 0.3
#: The abstention threshold on that confidence, for a question in the passages' language
#: (chosen on xquad-dev's even half, the same section).
ABSTAIN_THRESHOLD = 0.655
#: The same for a question in another language: the rule that chose 0.655 for both (the best
#: worst case of the four abstention cells of the even half) gives 0.644-0.646 for English
#: questions when it reads the answerer's own confidences (docs/benchmarks.md, "One
#: threshold per case, read off the answerer").
ABSTAIN_THRESHOLD_CROSSLINGUAL = 0.645
#: Characters of a document either side of the candidate sentences read to find who speaks.
CONTEXT_CHARS = 3000
#: Most lines (points) one person gets in a round of views, so an answer holds at most
#: twice ``answer_sentences`` lines: a bound, not a measured choice (each line costs the
#: local model about 2 s to translate on 2 cores; a second point is quoted only when it
#: answers the question too and repeats nothing already quoted).
POINTS_PER_PERSON = 2

# -- the local answerer's evidence (docs/llm.md) -------------------------------------------

#: Sentences the local model reads, best first: every prompt token costs time before the
#: first answer token on a CPU (6 with a neighbour either side read ~590 tokens, 3 alone ~240).
EVIDENCE_SENTENCES = 3
#: Neighbouring sentences given with each (either side).
EVIDENCE_CONTEXT = 0
#: Their keep ratio: a wider pick than a quoted answer shows.
EVIDENCE_KEEP_RATIO = 0.3

#: A local model's translation of a quote stands for it when at least this share of its
#: content words are in the quote, spelled alike or as the dictionary translates them (on
#: 20 answers of xquad-dev's even half: translations 0.50-1.00, other quotes of the same
#: answers 0.00-0.54; docs/llm.md).
TRANSLATION_COVERAGE = 0.5

# -- support of written statements (docs/llm.md) -------------------------------------------

#: Support of a statement by a sentence: this share word overlap, the rest embedding.
SUPPORT_LEXICAL_WEIGHT = 0.5

# -- caches: sized for a conversation's working set, not measured for quality -------------

#: Passage sentences whose vectors the support check keeps (the same passages come back).
SUPPORT_VECTORS_CACHE = 4096
#: Words whose character trigrams are kept, and word pairs whose similarity is kept.
TRIGRAMS_CACHE = 1 << 16
WORD_PAIRS_CACHE = 1 << 18
#: Questions whose detected language is kept (retrieval and the answerer both ask).
LANGUAGES_CACHE = 256
