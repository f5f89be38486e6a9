"""Spans -> cited answers: the pipeline, follow-up questions, who says so."""
