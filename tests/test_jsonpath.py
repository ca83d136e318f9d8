"""kubectl's JSONPath dialect, checked on the examples of kubectl's JSONPath reference page
(the same input document and templates, with the results kubectl prints today)."""

from __future__ import annotations

from typing import Any

import pytest

from dynakube.jsonpath import JSONPathError, go_value, parse, relaxed, text_of

DOC: dict[str, Any] = {
    "kind": "List",
    "items": [
        {"kind": "None",
         "metadata": {"name": "127.0.0.1", "labels": {"kubernetes.io/hostname": "127.0.0.1"}},
         "status": {"capacity": {"cpu": "4"},
                    "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.1"}]}},
        {"kind": "None",
         "metadata": {"name": "127.0.0.2"},
         "status": {"capacity": {"cpu": "8"},
                    "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.2"},
                                  {"type": "another", "address": "127.0.0.3"}]}},
    ],
    "users": [
        {"name": "myself", "user": {}},
        {"name": "e2e", "user": {"username": "admin", "password": "secret"}},
    ],
}


@pytest.mark.parametrize(("template", "expected"), [
    ("{.kind}", "List"),
    ("{['kind']}", "List"),
    ("{$.kind}", "List"),
    ("{@.kind}", "List"),
    ("{..name}", "127.0.0.1 127.0.0.2 myself e2e"),
    ("{.items[*].metadata.name}", "127.0.0.1 127.0.0.2"),
    ("{.users[0].name}", "myself"),
    ("{.users[-1].name}", "e2e"),
    ("{.items[*]['metadata.name', 'status.capacity']}",
     '127.0.0.1 127.0.0.2 {"cpu":"4"} {"cpu":"8"}'),
    ('{.users[?(@.name=="e2e")].user.password}', "secret"),
    ("{range .items[*]}[{.metadata.name}, {.status.capacity}] {end}",
     '[127.0.0.1, {"cpu":"4"}] [127.0.0.2, {"cpu":"8"}] '),
    ("{.items[0].metadata.labels.kubernetes\\.io/hostname}", "127.0.0.1"),
    ('{range .items[*]}{.metadata.name}{"\\t"}{.status.capacity.cpu}{"\\n"}{end}',
     "127.0.0.1\t4\n127.0.0.2\t8\n"),
    ("names: [{..metadata.name}]", "names: [127.0.0.1 127.0.0.2]"),
    ("{.items[1].status.addresses[0:2].type}", "LegacyHostIP another"),
    ("{.items[1].status.addresses[:1].address}", "127.0.0.2"),
    ("{.items[1].status.addresses[::2].address}", "127.0.0.2"),
    ("{.items[1].status.addresses[0,1].address}", "127.0.0.2 127.0.0.3"),
    ('{.items[*].status.addresses[?(@.type!="LegacyHostIP")].address}', "127.0.0.3"),
    ("{.users[?(@.user.password)].name}", "e2e"),
    ("{.users[0].user}", "{}"),
    ("{.users[0].*}", "myself {}"),
    ("plain text", "plain text"),
    ("{.nothing}", ""),
])
def test_reference_examples(template: str, expected: str) -> None:
    assert parse(template).execute(DOC) == expected


def test_values_print_as_kubectl_prints_them() -> None:
    obj = {"n": 1, "f": 1.5, "whole": 2.0, "big": 1e25, "t": True, "none": None,
           "html": {"b": "<&>"}, "list": [1, "a"]}
    template = parse("{.n} {.f} {.whole} {.big} {.t} {.none} {.html} {.list}")
    assert template.execute(obj) == '1 1.5 2 1e+25 true null {"b":"\\u003c\\u0026\\u003e"} [1,"a"]'


def test_filters_compare_numbers_and_booleans() -> None:
    obj = {"xs": [{"n": 1, "ok": True}, {"n": 2, "ok": False}, {"n": 3}]}
    assert parse("{.xs[?(@.n>1)].n}").execute(obj) == "2 3"
    assert parse("{.xs[?(@.n<=2)].n}").execute(obj) == "1 2"
    assert parse("{.xs[?(@.ok==true)].n}").execute(obj) == "1"
    with pytest.raises(JSONPathError, match="incompatible types for comparison"):
        parse('{.xs[?(@.n=="1")].n}').execute(obj)


def test_missing_keys_are_errors_unless_allowed() -> None:
    template = parse("{.metadata.nope}")
    assert template.execute({"metadata": {}}) == ""
    with pytest.raises(JSONPathError, match="^nope is not found$"):
        template.execute({"metadata": {}}, allow_missing_keys=False)
    ranged = parse("{range .items[*]}{.x}{end}")
    with pytest.raises(JSONPathError, match="^x is not found$"):
        ranged.execute({"items": [{"y": 1}]}, allow_missing_keys=False)
    assert ranged.execute({"items": []}, allow_missing_keys=True) == ""


@pytest.mark.parametrize(("template", "message"), [
    ("{.items", "unclosed action"),
    ("{.items[0}", "unterminated array"),
    ('{"abc}', "unterminated quoted string"),
    ("{.items[x]}", "invalid array index x"),
    ("{end}", "not in range, nothing to end"),
    ("{.a[?(@.b==1]}", "unterminated filter"),
    ("{#}", "unrecognized character in action: U+0023 '#'"),
])
def test_parse_errors_are_worded_as_client_go(template: str, message: str) -> None:
    with pytest.raises(JSONPathError) as caught:
        parse(template)
    assert str(caught.value) == message


@pytest.mark.parametrize(("template", "message"), [
    ("{.users[5]}", "array index out of bounds: index 5, length 2"),
    ("{.kind[0]}", "string is not array or slice"),
    ("{.users[0][1:0]}", "map[string]interface {} is not array or slice"),
    ("{.users[1:0]}", "starting index 1 is greater than ending index 0"),
])
def test_execution_errors(template: str, message: str) -> None:
    with pytest.raises(JSONPathError) as caught:
        parse(template).execute(DOC)
    assert str(caught.value) == message


def test_find_gives_one_list_per_action() -> None:
    found = parse("{.users[*].name}-{range .items[*]}{.kind}{end}").find(DOC)
    assert found == [["myself", "e2e"], ["-"], ["None"], ["None"]]


@pytest.mark.parametrize(("expression", "expected"), [
    (".metadata.name", "{.metadata.name}"),
    ("metadata.name", "{.metadata.name}"),
    ("{metadata.name}", "{.metadata.name}"),
    ("{.metadata.name}", "{.metadata.name}"),
])
def test_relaxed_expressions(expression: str, expected: str) -> None:
    assert relaxed(expression) == expected


def test_relaxed_rejects_templates() -> None:
    with pytest.raises(JSONPathError, match="unexpected path string"):
        relaxed("{.a}{.b}")


def test_go_value_is_percent_v() -> None:
    assert go_value({"b": 1, "a": [True, None]}) == "map[a:[true <nil>] b:1]"
    assert text_of("x") == "x"
