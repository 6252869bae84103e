"""The journey's English detector (tests/english.py) finds English and nothing else."""

from __future__ import annotations

from tests.english import english_left


def test_it_finds_english_sentences_and_labels() -> None:
    page = "Kampaniyalar\nSave and review\nBalans: 12 500\nYou have no contacts yet."

    assert english_left(page) == ["Save and review", "You have no contacts yet."]


def test_it_leaves_azerbaijani_russian_and_product_names_alone() -> None:
    page = (
        "Kampaniyanı yadda saxla və yoxla\n"
        "Сохранить и проверить\n"
        "WhatsApp Cloud API · iSend · English\n"
        "On iki mesaj at bazara\n"  # "on" (ten) and "at" (horse; throw) are Azerbaijani words
        "Təsdiqləmək üçün https://isend.az/accounts/confirm-email/MQ:1x/ ünvanına keçin"
    )

    assert english_left(page) == []


def test_a_person_s_own_data_can_be_allowed() -> None:
    assert english_left("Spring Sale", allowed=frozenset({"Sale"})) == []
    assert english_left("Campaign: Spring Sale") == ["Campaign: Spring Sale"]
