"""Quotes in the filter: a quoted value is one value (its spaces and commas are text), and Tab
puts a value that needs them in quotes, so what it completes is what the filter finds."""

from __future__ import annotations

import pytest

from core.connections.completion import complete
from core.connections.filter_words import values
from core.connections.query import parse_query, split_words
from core.netns.options import words


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ('ns:"rv7-a,b"', ("rv7-a,b",)),
        ("ns:'rv7-a,b'", ("rv7-a,b",)),
        ("ns:'a b',c", ("a b", "c")),
        ("ns:a,'b,c',d", ("a", "b,c", "d")),
        ("ns:'it'\"'\"'s'", ("it's",)),
        ("ns:rv7-a,b", ("rv7-a", "b")),
        ('"ns:x,y"', ("x,y",)),
    ],
)
def test_a_quoted_comma_does_not_split(text: str, values: tuple[str, ...]) -> None:
    """``ns:"rv7-a,b"`` was ``ns:rv7-a`` OR ``ns:b``: every namespace with a "b" in it."""
    (token,) = parse_query(text).tokens
    assert token.values == values


def test_words_keep_their_meaning() -> None:
    assert split_words('proc:\\x1b "a b" c\\ d') == ["proc:\\x1b", "a b", "c\\", "d"]
    assert split_words("proc:a#b 'x") == ["proc:a#b", "'x"]  # unbalanced: split at spaces
    assert [t.values for t in parse_query("-state:listen,est port:22").tokens] == [
        ("listen", "est"),
        ("22",),
    ]


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("web-a,b", ["web-a", "b"]),
        ('"web-a,b"', ["web-a,b"]),
        ("'web a,b', c ,\"d\"", ["web a,b", "c", "d"]),
        ("it's,x", ["it's", "x"]),  # unbalanced: text
        ("a b", ["a b"]),
    ],
)
def test_netns_values_split_at_commas_outside_quotes(text: str, parts: list[str]) -> None:
    """``--netns '"rv7-a,b"'`` was ``"rv7-a`` and ``b"``."""
    assert words(text) == parts
    assert values("a,'b c'") == ["a", "b c"]


HOSTILE = "rv4-[bold red]M[reverse] x"
VALUES = {
    "ns": (HOSTILE, "plain", "q'\"mix,ed", "two words a", "two words b"),
    "proc": ("Web Content", "sshd"),
}


@pytest.mark.parametrize(
    ("text", "new_text", "value"),
    [
        ("ns:rv4", f"ns:'{HOSTILE}'", (HOSTILE,)),
        ("-ns:rv4", f"-ns:'{HOSTILE}'", (HOSTILE,)),
        ("ns:'rv4", f"ns:'{HOSTILE}'", (HOSTILE,)),
        ("ns:pl", "ns:plain", ("plain",)),
        ("ns:q", "ns:'q'\"'\"'\"mix,ed'", ("q'\"mix,ed",)),
        (f"ns:'{HOSTILE}',pl", f"ns:'{HOSTILE}',plain", (HOSTILE, "plain")),
        ("proc:web", "proc:'Web Content'", ("Web Content",)),
    ],
)
def test_tab_quotes_a_value_that_needs_it(text: str, new_text: str, value: tuple[str, ...]) -> None:
    """Tab inserted ``ns:rv4-[bold red]M[reverse] x`` bare: three words, nothing matched."""
    done = complete(text, len(text), VALUES)
    assert done.text == new_text
    assert done.cursor == len(new_text)
    (token,) = parse_query(done.text).tokens
    assert token.values == value


def test_tab_in_a_word_after_a_quoted_one() -> None:
    text = f"ns:'{HOSTILE}' proc:ss"
    done = complete(text, len(text), VALUES)
    assert done.text == f"ns:'{HOSTILE}' proc:sshd"


def test_a_shared_prefix_with_a_space_opens_the_quote() -> None:
    done = complete("ns:two", 6, VALUES)
    assert done.text == "ns:'two words "
    assert set(done.choices) == {"ns:'two words a'", "ns:'two words b'"}
    again = complete(done.text + "b", len(done.text) + 1, VALUES)
    assert again.text == "ns:'two words b'"


def test_nothing_shared_leaves_the_word_as_typed() -> None:
    """``ns:`` Tab with no common start opened a quote (``ns:'``), and the hint lost the
    choices."""
    done = complete("ns:", 3, VALUES)
    assert done.text == "ns:" and len(done.choices) == len(VALUES["ns"])
    done = complete("ns:'two words ", 14, VALUES)
    assert done.text == "ns:'two words " and len(done.choices) == 2
