"""Sentence vectors stored at ingest: the answerer quotes without encoding the passages."""

from __future__ import annotations

import copy

import numpy as np

from assistant.answering import candidate_sentences

QUESTION = "What do experts expect from the visit?"


def test_every_quotable_sentence_has_its_vector_stored(ingested):
    assistant = ingested
    sentences = candidate_sentences(assistant.search(QUESTION))
    keys = [(s.passage.doc_id, s.start, s.end) for s in sentences]
    stored = assistant.store.sentence_vectors(keys)
    assert sentences and set(stored) == set(keys)
    fresh = assistant.embedder.encode_documents([s.text for s in sentences])
    similarity = [float(stored[k] @ v) for k, v in zip(keys, fresh, strict=True)]
    assert min(similarity) > 0.999


def test_answer_with_stored_vectors_equals_answer_encoded_now(ingested):
    assistant = ingested
    passages = assistant.search(QUESTION)
    encoding_now = copy.copy(assistant.answerer)  # the same answerer, but encoding now
    encoding_now.sentence_vectors = None
    stored, fresh = (
        assistant.answerer.answer(QUESTION, passages),
        encoding_now.answer(QUESTION, passages),
    )
    assert stored.text == fresh.text and not stored.abstained
    sentences = candidate_sentences(passages[:5])
    s_scores = assistant.answerer.evidence(QUESTION, sentences).confidence()
    f_scores = encoding_now.evidence(QUESTION, sentences).confidence()
    assert np.allclose(s_scores, f_scores, atol=1e-4)


def test_removed_document_leaves_no_sentence_vectors(ingested):
    assistant = ingested
    count = "SELECT count(*) FROM sentence_vectors"
    assert assistant.store.db.execute(count).fetchone()[0] > 0
    for doc in assistant.documents():
        assistant.remove(doc.doc_id)
    assert assistant.store.db.execute(count).fetchone()[0] == 0
    assert assistant.store.disagreements() == []
