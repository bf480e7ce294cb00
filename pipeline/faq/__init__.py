"""FAQ matching, topic learning from agents' tags, and clusters of unanswered questions (docs/FAQ.md)."""

from .clusters import cluster_questions
from .model import FaqModel, article_pieces, faq_language, score_pairs
from .text import Featurizer, clean, embed, embedder

__all__ = ["FaqModel", "Featurizer", "article_pieces", "clean", "cluster_questions", "embed", "embedder",
           "faq_language", "score_pairs"]
