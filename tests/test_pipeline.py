"""The whole path with real parts: files → Chroma + FTS5 → hybrid search → cited answers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import opened

from assistant.chunking import split_sentences
from assistant.errors import IndexLockedError, ModelMismatchError, NotFoundError
from assistant.lexical import WORDS
from assistant.store import Store

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

EXPERTS = ("Lukjanow", "Lukyanov", "Lepsibaev", "Mikhailichenko")
QUESTION = "What do experts expect from the visit?"


def experts_in(text: str) -> set[str]:
    found = {name for name in EXPERTS if name in text}
    return {"Lukjanow" if n == "Lukyanov" else n for n in found}


def dense_ids(store: Store) -> set[str]:
    return store.dense_ids()


def lexical_ids(store: Store, word: str) -> set[str]:
    return {i for i, _ in store.lexical(f'"{word}"', 100, WORDS)}


def test_the_users_question_is_answered_with_verbatim_citations(assistant, corpus_dir: Path):
    report = assistant.ingest([corpus_dir])
    assert (len(report.added), report.failed) == (1, [])
    answer = assistant.ask(QUESTION)
    assert not answer.abstained
    assert answer.citations
    text = (corpus_dir / "tokayev-visit.de.txt").read_text(encoding="utf-8").strip()
    for citation in answer.citations:
        assert text[citation.quote_start : citation.quote_end] == citation.quote
        assert text[citation.passage.start : citation.passage.end] == citation.passage.text
        assert f"[{citation.n}]" in answer.text
    cited = set().union(*(experts_in(c.passage.text) for c in answer.citations))
    assert len(cited) >= 2, cited


def test_a_question_the_article_cannot_answer_is_abstained(ingested):
    assistant = ingested
    answer = assistant.ask("Who won the Super Bowl in 2016?")
    assert answer.abstained
    assert answer.citations == ()
    assert answer.passages, "an abstention lists the closest passages"


def test_reingest_of_an_unchanged_file_writes_nothing(assistant, corpus_dir: Path):
    assistant.ingest([corpus_dir])
    before = (assistant.documents(), sorted(dense_ids(assistant.store)))
    report = assistant.ingest([corpus_dir])
    assert (report.added, report.updated, len(report.unchanged)) == ([], [], 1)
    assert (assistant.documents(), sorted(dense_ids(assistant.store))) == before


def test_a_changed_file_replaces_all_its_old_chunks(assistant, corpus_dir: Path):
    path = corpus_dir / "tokayev-visit.de.txt"
    assistant.ingest([path])
    old_ids = dense_ids(assistant.store)
    path.write_text("Ein ganz neuer Text über Zebras in Namibia. Sie tanzen nachts.", "utf-8")
    report = assistant.ingest([path])
    assert len(report.updated) == 1
    new_ids = dense_ids(assistant.store)
    assert new_ids and not new_ids & old_ids
    assert lexical_ids(assistant.store, "kasachstan") == set()
    assert lexical_ids(assistant.store, "zebras") == new_ids
    assert assistant.documents()[0].chunks == len(new_ids)
    assert assistant.store.disagreements() == []


def test_remove_deletes_from_chroma_lexical_index_and_manifest(ingested):
    assistant = ingested
    removed = assistant.remove(str(CORPUS / "tokayev-visit.de.txt"))
    assert removed.title
    assert assistant.documents() == []
    assert dense_ids(assistant.store) == set()
    assert lexical_ids(assistant.store, "kasachstan") == set()
    assert assistant.search("Kasachstan") == []
    with pytest.raises(NotFoundError, match="assistant list"):
        assistant.remove(removed.doc_id)


def test_a_file_deleted_from_an_ingested_folder_disappears(assistant, corpus_dir: Path):
    extra = corpus_dir / "zebras.md"
    extra.write_text("# Zebras\n\nZebras tanzen nachts in Namibia.", encoding="utf-8")
    assistant.ingest([corpus_dir])
    extra.unlink()
    report = assistant.ingest([corpus_dir])
    assert report.removed == [str(extra.resolve())]
    assert [Path(d.source).name for d in assistant.documents()] == ["tokayev-visit.de.txt"]
    assert lexical_ids(assistant.store, "zebras") == set()


def test_bad_files_are_reported_and_the_rest_is_indexed(assistant, corpus_dir: Path):
    assistant.ingest([corpus_dir])
    (corpus_dir / "empty.txt").write_text("   \n", encoding="utf-8")
    (corpus_dir / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (corpus_dir / "good.md").write_text("# Neu\n\nZebras tanzen nachts.", encoding="utf-8")
    report = assistant.ingest([corpus_dir, corpus_dir / "notes.xyz"])
    failed = {Path(f.path).name for f in report.failed}
    assert failed == {"empty.txt", "binary.txt", "notes.xyz"}
    assert len(report.added) == 1 and len(report.unchanged) == 1
    assert len(assistant.documents()) == 2


def test_retrieval_is_a_langchain_retriever(ingested):
    assistant = ingested
    documents = assistant.retriever().invoke("Lepsibaev Kernkraftwerke")
    assert documents and "Lepsibaev" in documents[0].page_content
    meta = documents[0].metadata
    assert meta["source"].endswith("tokayev-visit.de.txt")
    assert meta["end"] - meta["start"] == len(documents[0].page_content)


def test_ingested_chunks_gather_sentences_up_to_the_character_target(ingested):
    # ASSISTANT_CHUNK_CHARS reaches the chunker: a chunk longer than the target is one
    # sentence, and the article is still covered (docs/benchmarks.md, 600 characters)
    store = ingested.store
    target = ingested.settings.chunk_chars
    chunks = [c for c, _ in store.chunks(sorted(store.dense_ids()))]
    text = store.document_text(chunks[0].doc_id)
    assert len(chunks) > len(text) // target
    for chunk in chunks:
        assert len(chunk.text) <= target or len(split_sentences(chunk.text)) == 1, chunk.text


def test_changed_chunk_settings_recut_a_file_only_when_forced(
    tmp_path: Path, corpus_index, embedder
):
    # an index keeps the chunks it was cut with: an unchanged file costs nothing, and
    # `assistant ingest --force` cuts it again with the settings of now (here 300 characters)
    directory = tmp_path / "index"
    shutil.copytree(corpus_index, directory)
    with opened(directory, embedder, chunk_chars=300) as assistant:
        before = sorted(assistant.store.dense_ids())
        again = assistant.ingest([CORPUS])
        assert (len(again.unchanged), len(again.updated)) == (1, 0)
        assert sorted(assistant.store.dense_ids()) == before
        forced = assistant.ingest([CORPUS], force=True)
        assert (len(forced.unchanged), len(forced.updated)) == (0, 1)
        chunks = [c for c, _ in assistant.store.chunks(sorted(assistant.store.dense_ids()))]
    assert len(chunks) > len(before)
    assert all(len(c.text) <= 300 or len(split_sentences(c.text)) == 1 for c in chunks)


def test_a_second_owner_of_the_index_is_refused(assistant, tmp_path: Path):
    with pytest.raises(IndexLockedError, match=r"another process.*ASSISTANT_CHROMA_URL"):
        Store(tmp_path / "index", assistant.settings.embedding_model)


def test_an_index_built_with_another_model_is_refused(tmp_path: Path):
    Store(tmp_path / "ix", "model-a").close()
    with pytest.raises(ModelMismatchError, match=r"built with the embedding model .model-a"):
        Store(tmp_path / "ix", "model-b")


def test_ingest_progress_counts_files_read_then_texts_embedded(assistant, corpus_dir: Path):
    assistant.ingestor.embed_slice = 2  # small slices, so the corpus (6 chunks) shows steps
    events: list[tuple] = []
    report = assistant.ingest(
        [corpus_dir],
        lambda done, total, _name: events.append(("read", done, total)),
        lambda done, total, _what: events.append(
            ("embedded", done, total, assistant.store.chunk_count())
        ),
    )
    embedded = [e for e in events if e[0] == "embedded"]
    assert events[0] == ("read", 1, 1) and len(embedded) > 2
    steps = [done for _, done, _, _ in embedded]
    assert steps == sorted(set(steps)) and embedded[-1][1] == embedded[-1][2]
    assert all(total == embedded[-1][2] for _, _, total, _ in embedded)
    # the bar reaches its end only when every text is embedded (the write follows at once)
    assert all(written == 0 for *_, written in embedded) and report.chunks > 0
    assert assistant.store.chunk_count() == report.chunks
