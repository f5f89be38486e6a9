"""Offline evaluation: SQuAD (reader and open mode), the user's own questions, run reports."""
