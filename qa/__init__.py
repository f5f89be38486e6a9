"""article-qa: extractive question answering over news articles, with cited answer spans."""
