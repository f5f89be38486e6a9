"""Example questions for the chat's welcome, made from the articles and checked against the pipeline."""

from qa.answering.examples import candidate_questions, example_questions
from qa.text import normalize_answer


def test_examples_are_questions_the_seed_articles_answer_each_with_its_own_answer(seed_pipeline):
    candidates = list(candidate_questions(seed_pipeline.store))
    assert "How many missiles were fired?" in candidates  # "Iraq said 22 missiles were fired."
    examples = example_questions(seed_pipeline)
    assert len(examples) == 3 and all(q.endswith("?") for q in examples)
    responses = [seed_pipeline.ask(q) for q in examples]
    assert not any(r.abstained for r in responses)
    answers = {normalize_answer(r.answers[0].text) for r in responses}
    assert len(answers) == len(examples)


def test_questions_are_made_from_roles_and_counts_in_the_text():
    from qa.answering.examples import questions_in

    text = ("Harbour master Ingrid Salo said the port would reopen. The fire was fought, said the fire chief "
            "Marta Okafor, and 300 residents were evacuated.")
    assert list(questions_in(text)) == ["Who is the Harbour master?", "Who is the fire chief?",
                                        "How many residents were evacuated?"]
