"""LLM-judged faithfulness and relevance (RAGAS-style): optional, labelled as LLM-judged.

Any LangChain ``BaseChatModel`` can judge; its reply must hold a number between 0 and 1.
A reply without one scores NaN (left out of the means) rather than guessing.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from assistant import prompts
from assistant.types import Answer

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

_NUMBER = re.compile(r"(?<![\d.])(?:0(?:\.\d+)?|1(?:\.0+)?|\.\d+)(?![\d.])")


def judge_answer(judge: BaseChatModel, question: str, answer: Answer) -> dict[str, float]:
    """LLM-judged faithfulness (to the cited passages) and relevance (to the question)."""
    passages = "\n\n".join(f"[{c.n}] {c.passage.text}" for c in answer.citations) or "(none)"
    faithfulness = prompts.JUDGE_FAITHFULNESS.format(passages=passages, answer=answer.text)
    relevance = prompts.JUDGE_RELEVANCE.format(question=question, answer=answer.text)
    return {
        "llm_faithfulness": parse_score(_ask(judge, faithfulness)),
        "llm_relevance": parse_score(_ask(judge, relevance)),
    }


def _ask(judge: BaseChatModel, prompt: str) -> str:
    reply = judge.invoke(prompt)
    return reply.content if isinstance(reply.content, str) else str(reply.content)


def parse_score(reply: str) -> float:
    """The first number in 0..1 of a judge's reply, or NaN when there is none."""
    found = _NUMBER.search(reply)
    return float(found.group()) if found else math.nan
