"""Every text the assistant says on its own (and, later, every prompt an LLM receives)."""

ABSTAIN_NO_PASSAGES = (
    "The index holds no passages yet: add documents first (`assistant ingest PATH`)."
)
ABSTAIN = (
    "I found nothing in the articles that answers this reliably, so I will not guess. "
    "The closest passages are listed below."
)

# LLM-judged evaluation (RAGAS-style); optional, used only when a judge model is given.
JUDGE_FAITHFULNESS = (
    "You check whether an answer is supported by the passages it cites.\n\n"
    "Passages:\n{passages}\n\nAnswer:\n{answer}\n\n"
    "Reply with one number between 0 and 1: the share of the answer's statements that the "
    "passages support. Reply with the number only."
)
JUDGE_RELEVANCE = (
    "You check whether an answer addresses a question.\n\n"
    "Question:\n{question}\n\nAnswer:\n{answer}\n\n"
    "Reply with one number between 0 and 1: 1 when the answer fully addresses the question, "
    "0 when it does not address it at all. Reply with the number only."
)
