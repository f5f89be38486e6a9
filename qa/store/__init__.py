"""Passages and vectors kept: the store interface (base), its local FAISS + BM25 implementation (local),
keeping any store in step with the collection (indexing), and changes to the collection (collection)."""
