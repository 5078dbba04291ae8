"""The lexical indexes over the stored chunks: one registry entry each.

Each entry is an FTS5 table over ``chunks.text`` (external content). Its schema, the
triggers that keep it in step with the chunks, its rebuild, its integrity check and its
BM25 ranking are all derived from the entry, and retrieval asks every entry of ``LEXICAL``
for a ranking: adding a lexical index is adding one entry here, and its weight to
``retrieval.Fusion`` (an existing index is filled from the stored chunks when it next opens).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def stems(words: Sequence[str], min_length: int = 8, cut: int = 3) -> list[str]:
    """The words, then each long word without its last ``cut`` letters.

    A substring search for the shortened word finds its inflections, compounds and
    cognates in other languages (Experten/experts, Kernkraftwerke/Kraftwerk).
    """
    return list(dict.fromkeys([*words, *(w[:-cut] for w in words if len(w) >= min_length)]))


@dataclass(frozen=True)
class LexicalIndex:
    """One FTS5 index over the chunks, and how questions are put to it."""

    #: the ranking's name (retrieval's fusion weighs rankings by it); its table is fts_<name>
    name: str
    #: the FTS5 tokenizer
    tokenize: str
    #: shortest question word it is asked for
    min_word: int = 1
    #: also asked for the stems of long words (a substring index finds their inflections)
    stems: bool = False
    #: matches inside words (a question term's rows are counted by word prefix)
    inside_words: bool = False
    #: share of the row budget its query gets (a trigram phrase costs about twice a word
    #: per chunk scored; at 10k and 100k chunks half the budget ranks as well, 30-40% faster)
    budget_share: float = 1.0
    #: keeps a vocabulary table (fts_<name>_vocab), which measures a question's coverage
    vocabulary: bool = False

    @property
    def table(self) -> str:
        """The FTS5 table."""
        return f"fts_{self.name}"

    def schema(self) -> str:
        """The table, its vocabulary and the triggers that follow inserts and deletes."""
        t = self.table
        sql = (
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {t} USING fts5("
            f"text, content='chunks', content_rowid='rowid', tokenize='{self.tokenize}');\n"
            f"{self.insert_trigger()};\n"
            f"CREATE TRIGGER IF NOT EXISTS {t}_ad AFTER DELETE ON chunks BEGIN\n"
            f"    INSERT INTO {t}({t}, rowid, text) VALUES ('delete', old.rowid, old.text);\nEND;\n"
        )
        if self.vocabulary:
            sql += f"CREATE VIRTUAL TABLE IF NOT EXISTS {t}_vocab USING fts5vocab({t}, 'row');\n"
        return sql

    def insert_trigger(self) -> str:
        """The trigger that indexes each inserted chunk (one statement, without ';')."""
        t = self.table
        return (
            f"CREATE TRIGGER IF NOT EXISTS {t}_ai AFTER INSERT ON chunks BEGIN\n"
            f"    INSERT INTO {t}(rowid, text) VALUES (new.rowid, new.text);\nEND"
        )

    def insert_rows(self) -> str:
        """Index the chunks of rowids above one bound (?) up to another (?)."""
        return (
            f"INSERT INTO {self.table}(rowid, text)"
            " SELECT rowid, text FROM chunks WHERE rowid > ? AND rowid <= ? ORDER BY rowid"
        )

    def rebuild(self) -> str:
        """Rebuild the index from the chunks."""
        return f"INSERT INTO {self.table}({self.table}) VALUES ('rebuild')"

    def integrity_check(self) -> str:
        """Raises sqlite3.DatabaseError when the index disagrees with the chunks (rank 1:
        compare with the content table, not only with itself)."""
        return f"INSERT INTO {self.table}({self.table}, rank) VALUES ('integrity-check', 1)"

    def ranking(self) -> str:
        """(chunk id, BM25 score) for a MATCH expression (?) and a limit (?), best first."""
        t = self.table
        return (
            # rank in the FTS table alone, score each row once, then join only the best k
            # (joining first looked up every matching chunk: 2-3x slower at 100k chunks)
            f"SELECT c.chunk_id, -r.score FROM (SELECT rowid, bm25({t}) AS score"
            f" FROM {t} WHERE {t} MATCH ? ORDER BY score LIMIT ?) r"
            " JOIN chunks c ON c.rowid = r.rowid ORDER BY r.score"
        )

    def query_terms(self, words: Sequence[str]) -> list[str]:
        """The terms this index is asked for: words of ``min_word``+ characters (and the
        stems of long words where ``stems``)."""
        usable = [w for w in words if len(w) >= self.min_word]
        return stems(usable) if self.stems else usable

    def vocabulary_lookup(self, count: int) -> str:
        """How many of ``count`` terms (?) the index holds."""
        marks = ",".join("?" * count)
        return f"SELECT count(*) FROM {self.table}_vocab WHERE term IN ({marks})"


WORDS = LexicalIndex("words", "unicode61 remove_diacritics 2", vocabulary=True)
TRIGRAM = LexicalIndex(
    "trigram", "trigram", min_word=3, stems=True, inside_words=True, budget_share=0.5
)
#: Every lexical index, in the order rankings are made.
LEXICAL: tuple[LexicalIndex, ...] = (WORDS, TRIGRAM)
#: The index whose vocabulary tells which question words the library holds.
VOCABULARY = next(index for index in LEXICAL if index.vocabulary)
#: Triggers of older indexes that served all lexical tables at once (dropped at open).
OLD_TRIGGERS = ("chunks_ai", "chunks_ad")


def by_name(name: str) -> LexicalIndex:
    """The registered index of this name (KeyError names the known ones)."""
    for index in LEXICAL:
        if index.name == name:
            return index
    raise KeyError(f"no lexical index {name!r}: known are {[i.name for i in LEXICAL]}")
