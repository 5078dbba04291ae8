"""Sentence vectors: made when a question first reads a sentence and kept (lazy, the
default), or at ingest (ingest, pooled); the answerer quotes the same either way."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, opened

from assistant.answering import candidate_sentences
from assistant.chunking import split_sentences
from assistant.config import Settings
from assistant.embedding import Embedder

QUESTION = "What do experts expect from the visit?"


class Counting:
    """The real embedder, counting the passage texts it is asked to encode."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.encoded = 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += len(texts)
        return self.inner.encode_documents(texts)


@pytest.fixture(scope="module", params=["ingest", "pooled"])
def built_at_ingest(request, tmp_path_factory, embedder) -> tuple[str, Path]:
    """The corpus indexed with its sentence vectors made at ingest, in each such mode."""
    directory = tmp_path_factory.mktemp(request.param) / "index"
    with opened(directory, embedder, sentence_vectors=request.param) as assistant:
        assistant.ingest([CORPUS])
    return request.param, directory


def test_settings_read_the_old_boolean_as_a_mode() -> None:
    assert Settings(sentence_vectors=True).sentence_vectors == "ingest"
    assert Settings(sentence_vectors="false").sentence_vectors == "lazy"
    assert Settings().sentence_vectors == "lazy"


def test_at_ingest_every_quotable_sentence_has_its_vector_stored(built_at_ingest, embedder):
    _, directory = built_at_ingest
    with opened(directory, embedder) as assistant:
        sentences = candidate_sentences(assistant.search(QUESTION))
        keys = [(s.passage.doc_id, s.start, s.end) for s in sentences]
        stored = assistant.store.sentence_vectors(keys)
    assert sentences and set(stored) == set(keys)
    fresh = embedder.encode_documents([s.text for s in sentences])
    similarity = [float(stored[k] @ v) for k, v in zip(keys, fresh, strict=True)]
    assert min(similarity) > 0.999


def test_pooled_chunk_vectors_are_the_length_weighted_mean_of_their_sentences(
    built_at_ingest, embedder
):
    mode, directory = built_at_ingest
    with opened(directory, embedder) as assistant:
        stored = assistant.store.stored_vectors(assistant.store.chunk_ids())
    assert stored
    for text, vector in stored.values():
        pieces = [text[s.start : s.end] for s in split_sentences(text)]
        lengths = np.array([len(p) for p in pieces], dtype=np.float32)
        pooled = lengths @ embedder.encode_documents(pieces)
        pooled /= np.linalg.norm(pooled)
        whole = embedder.encode_documents([text])[0]
        agreement = float(np.asarray(vector) @ (pooled if mode == "pooled" else whole))
        assert agreement > 0.999, (mode, text[:60])


def test_answer_with_stored_vectors_equals_answer_encoded_now(built_at_ingest, embedder):
    _, directory = built_at_ingest
    with opened(directory, embedder) as assistant:
        passages = assistant.search(QUESTION)
        encoding_now = copy.copy(assistant.answerer)  # the same answerer, but encoding now
        encoding_now.sentence_vectors = encoding_now.keep_vectors = None
        stored, fresh = (
            assistant.answerer.answer(QUESTION, passages),
            encoding_now.answer(QUESTION, passages),
        )
        assert stored.text == fresh.text and not stored.abstained
        sentences = candidate_sentences(passages[:5])
        s_scores = assistant.answerer.evidence(QUESTION, sentences).confidence()
        f_scores = encoding_now.evidence(QUESTION, sentences).confidence()
    assert np.allclose(s_scores, f_scores, atol=1e-4)


def test_lazy_answer_keeps_what_it_encoded_and_the_next_one_encodes_nothing(
    tmp_path, corpus_index, embedder
):
    counting = Counting(embedder)
    directory = Path(shutil.copytree(corpus_index, tmp_path / "index"))
    with opened(directory, counting) as assistant:
        assert assistant.store.sentence_count() == 0  # lazy: none at ingest
        first = assistant.ask(QUESTION)
        kept = assistant.store.sentence_count()
        encoded, counting.encoded = counting.encoded, 0
        again = assistant.ask(QUESTION)
    assert not first.abstained and kept == encoded > 0
    assert again.text == first.text and counting.encoded == 0
    with opened(directory, counting) as assistant:  # kept on disk, for the next process
        assert assistant.ask(QUESTION).text == first.text and counting.encoded == 0


def test_removed_document_leaves_no_sentence_vectors(ingested):
    assistant = ingested
    assistant.ask(QUESTION)
    assert assistant.store.sentence_count() > 0
    for doc in assistant.documents():
        assistant.remove(doc.doc_id)
    assert assistant.store.sentence_count() == 0
    assert assistant.store.disagreements() == []
