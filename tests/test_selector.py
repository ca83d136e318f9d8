"""Label/field selector parsing (server side, real error wording) and formatting (client side)."""

from __future__ import annotations

from typing import Any

import pytest

from dynakube.errors import InvalidArgumentError
from dynakube.selector import (
    SelectorError,
    format_field_selector,
    format_label_selector,
    parse_field_selector,
    parse_label_selector,
)


@pytest.mark.parametrize(("text", "labels", "expected"), [
    ("app=web", {"app": "web"}, True),
    ("app==web", {"app": "db"}, False),
    ("app!=web", {}, True),
    ("app!=web", {"app": "web"}, False),
    ("env in (prod, staging)", {"env": "staging"}, True),
    ("env in (prod)", {}, False),
    ("env notin (prod)", {}, True),
    ("env notin (prod)", {"env": "prod"}, False),
    ("tier", {"tier": ""}, True),
    ("!tier", {"tier": "x"}, False),
    ("!tier", {}, True),
    ("a=1,b=2", {"a": "1", "b": "2"}, True),
    ("a=1,b=2", {"a": "1"}, False),
    ("n>3", {"n": "5"}, True),
    ("n<3", {"n": "5"}, False),
    ("n>3", {"n": "1_0"}, False),  # not a number to the server's strconv.ParseInt
    ("n>3", {"n": "99999999999999999999"}, False),  # beyond int64
    ("example.com/app=x", {"example.com/app": "x"}, True),
    ("", {"anything": "x"}, True),
])
def test_label_selector_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(text).matches(labels) is expected


@pytest.mark.parametrize(("text", "message"), [
    ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("=a", "found '=', expected: !, identifier, or 'end of string'"),
    ("a,", "found '', expected: identifier after ','"),
    ("a=b=c", "found '=', expected: ',' or 'end of string'"),
    ("a in b", "unable to parse requirement: found 'b' expected: '('"),
])
def test_malformed_label_selectors_are_worded_like_the_server(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as err:
        parse_label_selector(text)
    assert str(err.value) == message


def test_invalid_label_key_and_value_are_rejected() -> None:
    with pytest.raises(SelectorError, match="key: Invalid value"):
        parse_label_selector("-bad-=x")
    with pytest.raises(SelectorError, match=r"values\[0\]: Invalid value"):
        parse_label_selector("a=-bad-")
    with pytest.raises(SelectorError, match="must be an integer"):
        parse_label_selector("a>x")
    with pytest.raises(SelectorError, match="must be an integer"):
        parse_label_selector("a>99999999999999999999")
    with pytest.raises(InvalidArgumentError):  # callers catch dynakube's own errors
        parse_field_selector("bogus")


def test_label_selector_round_trips_to_text() -> None:
    text = "a=1,env in (prod,staging),!gone,present"
    assert str(parse_label_selector(text)) == text


def test_field_selector_parsing_and_matching() -> None:
    sel = parse_field_selector("metadata.name=cm1,metadata.namespace!=kube-system")
    assert sel.fields == ("metadata.name", "metadata.namespace")
    assert sel.value_for("metadata.name") == "cm1"
    assert sel.matches({"metadata.name": "cm1", "metadata.namespace": "rec"})
    assert not sel.matches({"metadata.name": "cm1", "metadata.namespace": "kube-system"})
    assert parse_field_selector("metadata.name==x").value_for("metadata.name") == "x"
    assert parse_field_selector(r"a=x\,y").value_for("a") == "x,y"
    with pytest.raises(SelectorError, match="can't understand 'bogus'"):
        parse_field_selector("bogus")


def test_format_label_selector() -> None:
    assert format_label_selector(None) == ""
    assert format_label_selector(" app=web ") == "app=web"
    assert format_label_selector({"b": "2", "a": "1"}) == "a=1,b=2"
    assert format_label_selector({"tier": None, "env": ["prod", "dev"]}) == \
        "env in (dev,prod),tier"
    assert format_label_selector({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["a", "b"]},
            {"key": "x", "operator": "NotIn", "values": ["c"]},
            {"key": "y", "operator": "Exists"},
            {"key": "z", "operator": "DoesNotExist"},
        ],
    }) == "app=web,env in (a,b),x notin (c),y,!z"
    with pytest.raises(ValueError, match="unknown matchExpressions operator"):
        format_label_selector({"matchExpressions": [{"key": "a", "operator": "Gt"}]})


@pytest.mark.parametrize("call", [
    lambda: format_field_selector(["metadata.name=a"]),  # type: ignore[arg-type]
    lambda: format_label_selector({"matchExpressions": ["app in (a)"]}),
    lambda: format_label_selector(["app=a"]),  # type: ignore[arg-type]
])
def test_selectors_of_the_wrong_shape_raise_type_error(call: Any) -> None:
    with pytest.raises(TypeError, match="a mapping"):
        call()


def test_formatted_selectors_parse_back() -> None:
    text = format_label_selector({"matchLabels": {"app": "web"},
                                  "matchExpressions": [{"key": "env", "operator": "In",
                                                        "values": ["prod"]}]})
    assert parse_label_selector(text).matches({"app": "web", "env": "prod"})
    assert format_field_selector({"metadata.name": "a,b"}) == r"metadata.name=a\,b"
    assert parse_field_selector(format_field_selector({"metadata.name": "a,b"})).value_for(
        "metadata.name") == "a,b"
