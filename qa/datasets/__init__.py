"""SQuAD-format data sets: loading them, and their paragraphs as articles for open-mode runs."""
