"""Passages -> vectors: sentence embeddings for passages and questions."""
