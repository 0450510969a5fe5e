"""Options grounded in their scenario (alignment/grounding.py): pure text, worked by hand."""

from alignment.grounding import choice_entities, ground_choices

ADEPT = (
    "You are the only Army medic. Patient A started a fist fight, and Patient B was trying to stop the fight."
)


def test_entities_are_capitalised_runs_after_the_first_word():
    assert choice_entities("Treat Patient A") == ["Patient A"]
    assert choice_entities("Give pain medication to Casualty M") == ["Casualty M"]
    assert choice_entities("Your translator, Hassan") == ["Hassan"]
    assert choice_entities("Move Patient 1 to safety") == ["Patient 1"]


def test_procedural_sentence_starts_and_numbers_name_no_one():
    assert choice_entities("CHECK PULSE") == []
    assert choice_entities("SITREP") == []
    assert choice_entities("Obey the policy. Do not split the dosage.") == []
    assert choice_entities("Treat the 3 incoming patients") == []


def test_each_option_gets_the_clauses_about_only_its_entity():
    grounded = ground_choices(ADEPT, ["Treat Patient A", "CHECK PULSE", "Treat Patient B"])
    assert grounded == [
        "Treat Patient A (Patient A started a fist fight)",
        "CHECK PULSE",
        "Treat Patient B (Patient B was trying to stop the fight)",
    ]


def test_options_without_distinguishing_entities_are_unchanged():
    text = "Maria asks you to lend her money for a holiday."
    options = ["Lend Maria the money", "Tell Maria no"]
    assert ground_choices(text, options) == options  # both name Maria: nothing tells them apart
    assert ground_choices("No names here.", ["Stay home", "Go out"]) == ["Stay home", "Go out"]


def test_a_clause_naming_two_options_entities_goes_to_neither():
    text = "Patient A forced Patient B into a car. Patient A then crashed."
    assert ground_choices(text, ["Treat Patient A", "Treat Patient B"]) == [
        "Treat Patient A (Patient A then crashed)",
        "Treat Patient B",
    ]
