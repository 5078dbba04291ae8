"""Article Assistant: answers questions about a collection of articles, with citations.

Importing this package is cheap: no torch, no model, no network (see tests/test_imports.py).
"""

from assistant.errors import AssistantError
from assistant.types import Answer, Article, Chunk, Citation, Passage

__all__ = ["Answer", "Article", "AssistantError", "Chunk", "Citation", "Passage"]
__version__ = "0.1.0"
