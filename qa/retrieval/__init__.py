"""Question -> the passages of the store that matter: dense, BM25, or both fused."""
