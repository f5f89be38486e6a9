"""Training the reader (two stages) and the embedder on SQuAD-format files, on one shared loop."""
