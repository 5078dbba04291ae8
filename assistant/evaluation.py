"""Running a question set against an assistant: per-question results and the run's metrics.

``run_evaluation`` asks every question, scores retrieval (hit@k, MRR@10, nDCG@10, hit@Nc),
answers (exact match, token F1, containment), citations (precision and recall, ALCE-style
with a lexical support check), groundedness and abstention, and writes the report
(``assistant.reports``). hit@Nc: the ranked passages joined in order and cut at N characters
hold a reference quote (for SQuAD data: the answer with 25 characters of its paragraph on
either side, so the same words elsewhere do not count).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant import metrics as m
from assistant.datasets import (
    EvalQuestion,
    GoldQuestion,
    ReferencePassage,
    SquadArticle,
    evidence,
    import_squad,
    load_dataset,
    squad_articles,
    squad_questions,
)
from assistant.metrics import hit_at_chars
from assistant.results import CitationCheck, EvalReport, QuestionResult, RetrievedPassage
from assistant.types import Answer, Passage, content_id

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.factory import Assistant

__all__ = [
    "EvalQuestion", "EvalReport", "GoldQuestion", "QuestionResult", "ReferencePassage",
    "SquadArticle", "evidence", "hit_at_chars", "hit_rates", "import_squad", "load_dataset",
    "run_evaluation", "squad_articles", "squad_questions",
]  # fmt: skip

BUDGETS = (500, 1000, 2000)
RANK_DEPTH = 10
Progress = Callable[[int, int, str], None]


def run_evaluation(
    assistant: Assistant,
    dataset: str | Path,
    out_dir: str | Path,
    *,
    compare: str | Path | None = None,
    progress: Progress | None = None,
    judge: BaseChatModel | None = None,
) -> EvalReport:
    """Ask every question of ``dataset``, score the run, and write report.json, report.md
    and PNG plots into ``out_dir``; ``judge`` adds LLM-judged faithfulness and relevance."""
    from assistant import reports

    questions = load_dataset(dataset)
    started = time.perf_counter()
    results = []
    for done, q in enumerate(questions):
        if progress:
            progress(done, len(questions), q.question)
        results.append(evaluate_question(assistant, q, judge))
    if progress:
        progress(len(questions), len(questions), "")
    info = run_info(assistant, dataset, len(questions), time.perf_counter() - started)
    info["llm_judged"] = judge is not None
    return reports.write_report(
        summarize(results, assistant.settings.k), results, info, Path(out_dir), compare
    )


def evaluate_question(
    assistant: Assistant, q: EvalQuestion, judge: BaseChatModel | None = None
) -> QuestionResult:
    """Search and ask one question and score what came back."""
    passages = assistant.search(q.question, max(RANK_DEPTH, assistant.settings.k))
    answer = assistant.ask(q.question)
    language = _answer_language(answer, passages, q)
    gains = _gains(q, passages)
    relevant = [g > 0 for g in gains]
    cites = tuple(
        CitationCheck(c.n, c.passage.source, c.quote, _supported(c.quote, q, language))
        for c in answer.citations
    )
    scores = _retrieval_scores(q, passages, gains, assistant.settings.k)
    scores |= _answer_scores(q, answer, cites, language)
    if judge is not None and not answer.abstained:
        from assistant.judging import judge_answer

        scores |= judge_answer(judge, q.question, answer)
    retrieved = tuple(
        RetrievedPassage(i, p.source, p.start, p.end, p.score, r, p.text)
        for i, (p, r) in enumerate(zip(passages, relevant, strict=True), 1)
    )
    return QuestionResult(
        q, answer.text, answer.abstained, cites, retrieved, scores, _reasons(q, answer, scores)
    )


def _answer_language(answer: Answer, passages: Sequence[Passage], q: EvalQuestion) -> str | None:
    """References come from the articles, so they are in the cited passages' language."""
    first = answer.citations[0].passage if answer.citations else None
    first = first or (passages[0] if passages else None)
    return (first.language if first else None) or q.language


def _matches(passage: Passage, ref: ReferencePassage) -> bool:
    if ref.doc_id and passage.doc_id != ref.doc_id:
        return False
    if ref.source and not (
        passage.source == ref.source
        or Path(passage.source).name == ref.source
        or passage.source.endswith("/" + ref.source.lstrip("/"))
    ):
        return False
    return m.squash(ref.quote) in m.squash(passage.text)


def _gains(q: EvalQuestion, passages: Sequence[Passage]) -> list[float]:
    """1 for the first passage holding each reference (quote, else answer), 0 elsewhere."""
    credited: set[int] = set()
    gains = []
    for p in passages:
        if q.reference_passages:
            holds = {i for i, ref in enumerate(q.reference_passages) if _matches(p, ref)}
        else:
            holds = {0} if m.contains_answer(p.text, q.reference_answers) else set()
        gains.append(float(bool(holds - credited)))
        credited |= holds
    return gains


def _retrieval_scores(
    q: EvalQuestion, passages: Sequence[Passage], gains: Sequence[float], k: int
) -> dict[str, float]:
    if not q.answerable:
        return {}
    relevant = [g > 0 for g in gains]
    needles = [m.squash(r.quote) for r in q.reference_passages] or list(q.reference_answers)
    texts = [m.squash(p.text) for p in passages]
    scores = {
        "hit@1": m.hit_at_k(relevant, 1),
        f"hit@{k}": m.hit_at_k(relevant, k),
        "mrr@10": m.reciprocal_rank(relevant, RANK_DEPTH),
        "ndcg@10": m.ndcg(gains, max(len(q.reference_passages), 1), RANK_DEPTH),
    }
    for n in BUDGETS:
        scores[f"hit@{n}c"] = float(any(m.hit_at_chars(texts, s, n) for s in needles))
    return scores


def _supported(quote: str, q: EvalQuestion, language: str | None) -> bool:
    if not q.answerable:
        return False
    refs = [r.quote for r in q.reference_passages]
    return m.supports(quote, q.reference_answers, refs, language)


def _answer_scores(
    q: EvalQuestion, answer: Answer, cites: Sequence[CitationCheck], language: str | None
) -> dict[str, float]:
    scores = {"abstention_correct": float(answer.abstained != q.answerable)}
    if not q.answerable:
        return scores
    text = "" if answer.abstained else answer.text
    scores |= {
        "exact_match": m.exact_match(text, q.reference_answers, language),
        "token_f1": m.token_f1(text, q.reference_answers, language),
        "answer_contains": m.contains_answer(text, q.reference_answers, language),
        "cited_correctly": float(any(c.supported for c in cites)),
    }
    if cites:
        scores["citation_precision"] = m.mean(float(c.supported) for c in cites)
    if not answer.abstained and (grounded := groundedness(answer)) is not None:
        scores["groundedness"] = grounded
    return scores


def groundedness(answer: Answer) -> float | None:
    """Share of the answer's sentences whose words lie in a passage they cite."""
    cited = {c.n: (c.passage.text, c.quote) for c in answer.citations}
    sentences = m.answer_sentences(answer.text)
    if not sentences:
        return None
    return m.mean(
        float(m.sentence_grounded(s, [t for n in ns for t in cited.get(n, ())]))
        for s, ns in sentences
    )


def _reasons(q: EvalQuestion, answer: Answer, scores: Mapping[str, float]) -> tuple[str, ...]:
    if not q.answerable:
        return () if answer.abstained else ("answered a question the articles cannot answer",)
    reasons = []
    if scores.get("mrr@10", 1.0) == 0.0:
        reasons.append(f"no reference passage in the top {RANK_DEPTH}")
    if answer.abstained:
        reasons.append("abstained on an answerable question")
    else:
        if not scores.get("answer_contains"):
            reasons.append("the answer does not contain a reference answer")
        if not scores.get("cited_correctly"):
            reasons.append("no citation supports a reference")
    return tuple(reasons)


def summarize(results: Sequence[QuestionResult], k: int) -> dict[str, float]:
    """The run's metrics: means over the questions (and citations) each one applies to."""
    answerable = [r for r in results if r.question.answerable]
    out: dict[str, float] = {}
    for name in ("hit@1", f"hit@{k}", "mrr@10", "ndcg@10", *(f"hit@{n}c" for n in BUDGETS)):
        out[name] = m.mean(r.scores[name] for r in answerable)
    for name in ("exact_match", "token_f1", "answer_contains"):
        out[name] = m.mean(r.scores[name] for r in answerable)
    out["citation_precision"] = m.mean(float(c.supported) for r in answerable for c in r.citations)
    out["citation_recall"] = m.mean(r.scores["cited_correctly"] for r in answerable)
    out["groundedness"] = m.mean(_present(results, "groundedness"))
    out["answerable_accuracy"] = m.mean(r.scores["abstention_correct"] for r in answerable)
    out["unanswerable_accuracy"] = m.mean(
        r.scores["abstention_correct"] for r in results if not r.question.answerable
    )
    for name in ("llm_faithfulness", "llm_relevance"):
        if any(name in r.scores for r in results):
            out[name] = m.mean(_present(results, name))
    return out


def _present(results: Sequence[QuestionResult], name: str) -> list[float]:
    """The question scores of this name that apply (judges may give no number: NaN)."""
    return [v for r in results if not math.isnan(v := r.scores.get(name, math.nan))]


def index_fingerprint(assistant: Assistant) -> str:
    """A hash of the indexed documents' versions and the embedding model."""
    rows = sorted((d.doc_id, d.content_hash) for d in assistant.documents())
    return content_id(assistant.settings.embedding_model, *rows)


def run_info(assistant: Assistant, dataset: str | Path, count: int, seconds: float) -> dict:
    """What a report records about the run besides its metrics."""
    return {
        "dataset": str(dataset),
        "questions": count,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(seconds, 2),
        "settings": assistant.settings.model_dump(mode="json"),
        "model": assistant.settings.embedding_model,
        "answerer": assistant.settings.answerer,
        "documents": len(assistant.documents()),
        "index_fingerprint": index_fingerprint(assistant),
    }


def hit_rates(
    ranked: Sequence[Sequence[str]], questions: Sequence[GoldQuestion], budgets: Sequence[int]
) -> dict[int, float]:
    """hit@Nc for each budget N: ``ranked[i]`` holds question i's passage texts, best first."""
    return {
        n: sum(hit_at_chars(texts, q.needle, n) for texts, q in zip(ranked, questions, strict=True))
        / max(len(questions), 1)
        for n in budgets
    }


def mrr_at(
    ranked: Sequence[Sequence[str]], questions: Sequence[GoldQuestion], depth: int = 10
) -> float:
    """Mean reciprocal rank of the first passage holding the gold evidence (MRR@depth)."""
    ranks = [
        m.reciprocal_rank([q.needle in text for text in texts], depth)
        for texts, q in zip(ranked, questions, strict=True)
    ]
    return sum(ranks) / max(len(ranks), 1)
