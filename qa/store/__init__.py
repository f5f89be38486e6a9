"""The collection: the store interface (base), its local SQLite + FAISS implementation (local, with
vectors and keywords), articles chunked and embedded for a store (indexing), and adding and removing
articles (collection)."""
