"""Passages -> answer spans: the extractive reader, the windows it reads, the evidence weights."""
