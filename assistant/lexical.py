"""The lexical indexes over the stored chunks: one registry entry each.

Each entry is an FTS5 table over ``chunks.text`` (external content). Its schema, the
triggers that keep it in step with the chunks, its rebuild, its integrity check and its
BM25 ranking are all derived from the entry, and retrieval asks every entry of ``LEXICAL``
for a ranking: adding a lexical index is adding one entry here, and its weight to
``retrieval.Fusion`` (an existing index is filled from the stored chunks when it next opens).
"""

from __future__ import annotations

from dataclasses import dataclass


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
            f"SELECT c.chunk_id, -bm25({t}) FROM {t} JOIN chunks c ON c.rowid = {t}.rowid"
            f" WHERE {t} MATCH ? ORDER BY bm25({t}) LIMIT ?"
        )

    def vocabulary_lookup(self, count: int) -> str:
        """How many of ``count`` terms (?) the index holds."""
        marks = ",".join("?" * count)
        return f"SELECT count(*) FROM {self.table}_vocab WHERE term IN ({marks})"


WORDS = LexicalIndex("words", "unicode61 remove_diacritics 2", vocabulary=True)
TRIGRAM = LexicalIndex("trigram", "trigram", min_word=3, stems=True)
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
