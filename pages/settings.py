"""The settings page: who answers, how many passages, when to abstain; saved in the index.

Secrets (API keys, the admin password) are read from the environment only: this page says
whether one is set, never what it is, and never stores one.
"""

from __future__ import annotations

import typing
from typing import Any

import streamlit as st
from pydantic import ValidationError

from assistant.config import Settings
from assistant.preferences import editable_fields, is_secret, save_preferences, sends_secret
from pages.common import is_admin, load_settings, md

LABELS = {
    "answerer": "Answerer",
    "k": "Passages retrieved per question (k)",
    "answer_passages": "Passages an answer is made from (of the k retrieved)",
    "answer_sentences": "Most sentences in an extractive answer",
    "abstain_threshold": "Abstention threshold (question in the article's language)",
    "abstain_threshold_crosslingual": "Abstention threshold (question in another language)",
    "llm_model": "LLM model",
    "llm_style": "Local answerer: translate the quotes, or write an answer",
    "llm_check": "Local answerer: least odds that the quotes answer (0: not checked)",
    "llm_base_url": "LLM server URL",
    "llm_temperature": "LLM temperature",
    "llm_timeout": "LLM timeout (seconds)",
    "llm_max_tokens": "Longest LLM answer (tokens)",
}
_ACRONYMS = {"llm": "LLM", "url": "URL", "api": "API", "hf": "HF"}


def label(name: str) -> str:
    """A setting's name as a person reads it ("llm_model" → "LLM model")."""
    if name in LABELS:
        return LABELS[name]
    words = [_ACRONYMS.get(w, w) for w in name.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def is_llm_field(name: str) -> bool:
    """Whether a setting matters only to an LLM answerer."""
    return name != "answerer" and name.startswith(("llm_", "ollama_", "openai_", "huggingface_"))


def field_input(name: str, value: Any) -> Any:
    """An input for one setting, showing its current value."""
    info = Settings.model_fields[name]
    label_text, helptext = label(name), info.description
    if typing.get_origin(info.annotation) is typing.Literal:  # the answerer, the LLM's style
        options = [str(c) for c in typing.get_args(info.annotation)]
        return st.selectbox(label_text, options, index=options.index(value), help=helptext)
    if isinstance(value, bool):
        return st.checkbox(label_text, value=value, help=helptext)
    if isinstance(value, int):
        return st.number_input(label_text, value=value, step=1, help=helptext)
    if isinstance(value, float):
        return st.number_input(label_text, value=value, step=0.01, format="%.2f", help=helptext)
    text = st.text_input(label_text, value="" if value is None else str(value), help=helptext)
    return text if text or info.default is not None else None  # "" only where allowed


def secrets_status(settings: Settings) -> None:
    """Which secrets the environment provides (set or not; never their values)."""
    names = [n for n in Settings.model_fields if is_secret(n)]
    if names:
        st.caption(
            "Secrets come from the environment only: "
            + ", ".join(
                f"ASSISTANT_{n.upper()} is {'set' if getattr(settings, n) else 'not set'}"
                for n in names
            )
        )


def main() -> None:
    """The page."""
    st.title("Settings")
    settings = load_settings()
    if not is_admin(settings, "The settings"):
        return
    st.caption(
        f"Index {settings.index.resolve()} · embedding model {settings.embedding_model} "
        "(set these with ASSISTANT_INDEX and ASSISTANT_EMBEDDING_MODEL)"
    )
    secrets_status(settings)
    keyed = sends_secret(Settings(), Settings.model_fields)
    names = editable_fields(Settings.model_fields, key_from_env=keyed)
    if keyed:
        st.caption(
            "An API key comes from the environment, so the server it goes to does too: "
            "set ASSISTANT_LLM_BASE_URL there to change it."
        )
    # outside the form, so that choosing an answerer shows (or hides) the LLM's fields at once
    answerer = field_input("answerer", settings.answerer) if "answerer" in names else None
    shown = [
        n for n in names if n != "answerer" and (answerer != "extractive" or not is_llm_field(n))
    ]
    with st.form("settings"):
        chosen = {n: field_input(n, getattr(settings, n)) for n in shown}
        if answerer is not None:
            chosen["answerer"] = answerer
        save, reset = st.columns(2)
        saved = save.form_submit_button("Save", type="primary")
        reset_clicked = reset.form_submit_button("Back to the defaults")
    if saved or reset_clicked:
        choice = {} if reset_clicked else chosen
        try:
            Settings(**choice)  # validate before storing
        except ValidationError as exc:
            st.error(f"Not saved: fix the values below and save again. {md(exc)}")
            return
        save_preferences(settings.index.resolve(), choice)
        st.session_state["settings_saved"] = True
        st.rerun()
    if st.session_state.pop("settings_saved", False):
        st.success("Saved: the next question is answered with these settings.")


if __name__ == "__main__":
    main()
