"""Every text the assistant says on its own (and, later, every prompt an LLM receives)."""

ABSTAIN_NO_PASSAGES = (
    "The index holds no passages yet: add documents first (`assistant ingest PATH`)."
)
ABSTAIN = (
    "I found nothing in the articles that answers this reliably, so I will not guess. "
    "The closest passages are listed below."
)
