"""Checks and repairs of an index: the dense index, the lexical indexes and the manifest agree,
and the configured model still makes the stored vectors.

``check`` returns typed problems (kind + ids); ``repair`` repairs them kind by kind, through
the store's own methods (opening a store already repairs what a crash can leave: see
``Store.open``). They back `assistant doctor [--repair]`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from assistant.types import Problem, Repair

if TYPE_CHECKING:
    from assistant.store import Store

#: Least cosine between a stored vector and the same text embedded now by the same model.
SAME_MODEL = 0.999
_SAMPLE = 3


def model_drift(store: Store) -> list[Problem]:
    """Stored vectors the configured model no longer reproduces (its weights changed)."""
    if store.encoder is None:
        return []
    stored = store.stored_vectors(sorted(store.chunk_ids())[:_SAMPLE])  # missing ones left out
    if not stored:
        return []
    now = store.encoder.encode_documents([text for text, _ in stored.values()])
    problems = []
    for (chunk_id, (_, vector)), fresh in zip(stored.items(), now, strict=True):
        cosine = float(np.dot(vector, fresh) / (np.linalg.norm(vector) * np.linalg.norm(fresh)))
        if cosine < SAME_MODEL:
            message = (
                f"chunk {chunk_id}: the model {store.model_id!r} embeds it differently now "
                f"(cosine {cosine:.4f}): its weights changed since the index was built"
            )
            problems.append(Problem("model_drift", (chunk_id,), message))
    return problems


def check(store: Store) -> list[Problem]:
    """Everything that disagrees: the three stores, and the model against its vectors."""
    return store.disagreements() + model_drift(store)


def _relex(store: Store, problems: Sequence[Problem]) -> list[Repair]:
    store.rebuild_lexical()
    tables = sum(len(p.ids) for p in problems)
    return [Repair("relexed", tables, "rebuilt the lexical indexes from the stored chunks")]


def _reembed_all(store: Store, problems: Sequence[Problem]) -> list[Repair]:
    count = store.reembed()
    message = f"embedded all {count} chunks again with the configured model"
    return [Repair("reembedded", count, message)]


def _reconcile(store: Store, problems: Sequence[Problem]) -> list[Repair]:
    return store.reconcile()


def _reingest(store: Store, problems: Sequence[Problem]) -> list[Repair]:
    return [
        Repair("reingest", 1, f"{p}: re-ingest that document's file to complete it", done=False)
        for p in problems
    ]


Repairer = Callable[["Store", Sequence[Problem]], list[Repair]]
#: Which repair serves which kinds of problem, in the order they run (the lexical indexes
#: first: re-embedding reads the chunks, not the lexical indexes, but a reader may).
REPAIRS: tuple[tuple[frozenset[str], Repairer], ...] = (
    (frozenset({"lexical"}), _relex),
    (frozenset({"model_drift"}), _reembed_all),
    (frozenset({"orphan_dense", "missing_dense"}), _reconcile),
    (frozenset({"chunk_count"}), _reingest),
)


def repair(store: Store) -> list[Repair]:
    """Repair what ``check`` finds, by the kind of each problem; returns what was done."""
    problems = check(store)
    done = []
    for kinds, repairer in REPAIRS:
        if found := [p for p in problems if p.kind in kinds]:
            done += repairer(store, found)
    return done
