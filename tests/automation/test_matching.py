"""Matching: whole message, whole word or phrase, pattern; case, accents, Azerbaijani and
Cyrillic letters folded; patterns validated (compile, length, no catastrophic backtracking)."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ValidationError

from automation.matching import keywords_clean, pattern_clean, text_matches


def _contains(keywords: list[str], text: str) -> bool:
    return text_matches(match_kind="contains", keywords=keywords, pattern="", text=text)


def _exact(keywords: list[str], text: str) -> bool:
    return text_matches(match_kind="exact", keywords=keywords, pattern="", text=text)


def _regex(pattern: str, text: str) -> bool:
    return text_matches(match_kind="regex", keywords=[], pattern=pattern, text=text)


@pytest.mark.parametrize(
    ("keyword", "text"),
    [
        pytest.param("Qiymət", "qiymet", id="az_plain_case"),
        pytest.param("Qiymət", "QİYMƏT!", id="az_capitals_case"),
        pytest.param("qiymet", "Qiymət?", id="az_keyword_without_accents_case"),
        pytest.param("ünvan", "UNVAN", id="az_u_umlaut_case"),
        pytest.param("şəhər", "seher", id="az_s_cedilla_case"),
        pytest.param("ığdır", "IGDIR", id="dotless_i_case"),
        pytest.param("цена", "Цена?", id="ru_case"),
        pytest.param("price list", "  Price   LIST!! ", id="phrase_spaces_case"),
    ],
)
def test_exact_match_folds_case_accents_and_punctuation(keyword: str, text: str) -> None:
    assert _exact([keyword], text) is True


def test_exact_needs_the_whole_message() -> None:
    assert _exact(["qiymət"], "qiymət nədir?") is False
    assert _exact(["qiymət", "price"], "PRICE") is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Salam, QİYMƏT nədir?", True, id="word_inside_case"),
        pytest.param("qiymetler", False, id="longer_word_is_not_the_keyword_case"),
        pytest.param("Bu neçəyədir? Qiymət.", True, id="last_word_case"),
        pytest.param("Сколько? Цена!", True, id="cyrillic_case"),
        pytest.param("what is the price list please", True, id="phrase_case"),
        pytest.param("price", True, id="whole_message_case"),
        pytest.param("pricelist", False, id="glued_case"),
        pytest.param("", False, id="empty_case"),
    ],
)
def test_contains_matches_whole_words_and_phrases(text: str, expected: bool) -> None:
    assert _contains(["qiymət", "цена", "price list", "price"], text) is expected


def test_regex_matches_as_written_or_normalised_ignoring_case() -> None:
    assert _regex(r"order\s*#?\d{4,}", "Where is ORDER #12345?") is True
    assert _regex(r"qiymet", "Qiymət?") is True  # the normalised form folds ə
    assert _regex(r"^\d+$", "12 apples") is False


def test_keywords_are_split_trimmed_and_deduplicated_by_folded_form() -> None:
    assert keywords_clean("Qiymət, qiymet\n  price  list ,\n\nЦена") == [
        "Qiymət",
        "price list",
        "Цена",
    ]
    assert keywords_clean(["a", "A!"]) == ["a"]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        pytest.param("!!!", "empty", id="no_letters_case"),
        pytest.param("x" * 101, "too_long", id="too_long_case"),
        pytest.param([f"k{i}" for i in range(51)], "too_many", id="too_many_case"),
    ],
)
def test_bad_keywords_are_field_errors(value: object, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        keywords_clean(value)  # type: ignore[arg-type]

    assert "keywords" in exc.value.message_dict
    assert exc.value.error_dict["keywords"][0].code == code


@pytest.mark.parametrize(
    ("pattern", "code"),
    [
        pytest.param("(unclosed", "invalid", id="does_not_compile_case"),
        pytest.param("a" * 201, "too_long", id="too_long_case"),
        pytest.param(r"(a|aa)+$", "slow", id="catastrophic_backtracking_case"),
        pytest.param(r"(\w|\w\w)+!?$", "slow", id="catastrophic_word_case"),
        pytest.param(r".*", "matches_everything", id="matches_everything_case"),
        pytest.param("   ", "required", id="blank_case"),
    ],
)
def test_bad_patterns_are_refused_at_save(pattern: str, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        pattern_clean(pattern)

    assert exc.value.error_dict["pattern"][0].code == code


def test_a_slow_pattern_that_slips_through_is_cut_off_at_search_time() -> None:
    # given: a pattern stored without validation (e.g. an old row) that backtracks
    started = time.monotonic()

    # when
    matched = _regex(r"(a|aa)+$", "a" * 5000 + "b")

    # then: no match, and the search gave up within its time budget (two tries of 50 ms)
    assert matched is False
    assert time.monotonic() - started < 1.0


def test_good_pattern_is_kept() -> None:
    assert pattern_clean(r"  order\s*#?\d{4,} ") == r"order\s*#?\d{4,}"


@pytest.mark.parametrize(
    ("pattern", "expected", "raw"),
    [
        pytest.param(
            "(abc",
            "A parenthesis “(” is opened and never closed (position 5).",
            "missing )",
            id="unclosed_parenthesis_case",
        ),
        pytest.param(
            "ab)",
            "A closing parenthesis “)” has no opening one (position 3).",
            "unbalanced parenthesis",
            id="unopened_parenthesis_case",
        ),
        pytest.param(
            "[ab",
            "A character set opened with “[” is never closed with “]” (position 4).",
            "unterminated character set",
            id="unterminated_set_case",
        ),
        pytest.param(
            "*a",
            "“*”, “+”, “?” or “{…}” has nothing before it to repeat (position 1).",
            "nothing to repeat",
            id="nothing_to_repeat_case",
        ),
        pytest.param(
            r"\q",
            "A backslash “\\” is followed by something it cannot escape (position 3).",
            "bad escape",
            id="bad_escape_case",
        ),
        pytest.param(
            "a{2,1}",
            "This is not a valid pattern (position 3).",
            "min repeat",
            id="other_error_case",
        ),
    ],
)
def test_a_pattern_that_does_not_compile_is_explained_not_quoted(
    pattern: str, expected: str, raw: str
) -> None:
    """The regex module's English text ("missing ) at position 4") appeared inside the
    Azerbaijani and Russian sentences; the explanation is now the product's own."""
    from django.utils import translation

    with translation.override("en"), pytest.raises(ValidationError) as exc:
        pattern_clean(pattern)

    message = str(exc.value.error_dict["pattern"][0].message)
    assert message == expected
    assert raw not in message
    assert "at position" not in message
