"""A tiny, randomly initialised transformers chat model, built on the spot (no download).

Its tokenizer is a word-level one trained here, wrapped with a chat template, and its model
a one-layer Llama. It writes random text from a small vocabulary that includes citation
markers, some valid and some not; it stands in for a user's local model directory.
"""

from __future__ import annotations

from pathlib import Path

_WORD_TEXT = (
    "Fjodor Lukjanow ist Chefredakteur der Zeitschrift Russland und erwartet keine "
    "Entscheidungen vom Besuch . , Tokajew Putin Moskau Kasachstan who is he the editor "
    "expects no breakthrough [1] [2] [3] [7] [0] [12]"
)
WORDS = _WORD_TEXT.split()
SPECIALS = ["<unk>", "<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} </s> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def build_tiny_chat_model(directory: Path, seed: int = 0) -> Path:
    """Save a tiny random chat model and its tokenizer to ``directory``; returns it."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(dict.fromkeys(SPECIALS + WORDS))}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>",
        additional_special_tokens=SPECIALS[4:],
    )  # fmt: skip
    tokenizer.chat_template = TEMPLATE
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=16384,
        bos_token_id=vocab["<s>"], eos_token_id=vocab["</s>"], pad_token_id=vocab["<pad>"],
    )  # fmt: skip
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    tokenizer.save_pretrained(directory)
    model.save_pretrained(directory)
    return directory
