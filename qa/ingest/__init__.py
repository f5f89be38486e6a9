"""Articles in: file formats, the corpus folder, and chunking into passages with character offsets."""
