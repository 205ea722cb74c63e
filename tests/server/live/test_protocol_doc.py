"""docs/protocol.md, server/live/protocol.py and web/static/js/protocol.js name the same
messages."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import msgspec

from server.live import bodies, protocol
from server.platform.errors import HTTP_STATUS, ErrorId

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = DOC.index(f"## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end != -1 else None]


def _types(section: str) -> set[str]:
    return set(re.findall(r"^### `([a-z_]+)`$", section, flags=re.MULTILINE))


def test_client_messages_match_the_doc() -> None:
    assert _types(_section("Client to server")) == protocol.client_types()


def test_server_messages_match_the_doc() -> None:
    assert _types(_section("Server to client")) == protocol.server_types()


def test_error_ids_match_the_doc() -> None:
    table = set(re.findall(r"^\| `([a-z_]+)` \((\d+)\)", _section("Error ids"), re.MULTILINE))
    assert table == {(e.value, str(HTTP_STATUS[e])) for e in ErrorId}


def test_every_client_example_in_the_doc_parses() -> None:
    """The doc's examples are what a client may send, byte for byte (… stands for an SDP)."""
    examples = []
    for part in _section("Client to server").split("\n### `")[1:]:
        kind = part.split("`", 1)[0]
        examples.append((kind, part.split("```json\n", 1)[1].split("```", 1)[0]))
    assert {kind for kind, _ in examples} == protocol.client_types()
    for kind, example in examples:
        message = protocol.parse_client_message(example.replace("…", "x"))
        assert protocol.message_type(message) == kind


def test_protocol_version_in_the_doc() -> None:
    assert f"version {protocol.PROTOCOL_VERSION}" in DOC.splitlines()[0]


def _js_typedef(name: str) -> str:
    """The body of one ``@typedef {...} Name`` in web/static/js/protocol.js."""
    js = (ROOT / "web" / "static" / "js" / "protocol.js").read_text(encoding="utf-8")
    match = re.search(r"@typedef \{((?:(?!@typedef).)*?)\} " + name + r"\n", js, flags=re.DOTALL)
    assert match is not None, f"protocol.js has no typedef {name}"
    return match.group(1)


def test_the_browser_client_names_the_same_messages() -> None:
    """web/static/js/protocol.js mirrors the protocol: every message each way, no other."""
    server_side = set(
        re.findall(r"\b([a-z_]+): [A-Z][A-Za-z]+Message\b", _js_typedef("ServerMessages"))
    )
    client_side = set(re.findall(r'type: "([a-z_]+)"', _js_typedef("ClientMessage")))
    assert server_side == protocol.server_types()
    assert client_side == protocol.client_types()


def _examples(title: str) -> dict[str, dict[str, object]]:
    """Each message's JSON example in one direction's section of the doc, by type."""
    found = {}
    for part in _section(title).split("\n### `")[1:]:
        kind = part.split("`", 1)[0]
        if "```json\n" not in part:
            continue
        found[kind] = json.loads(part.split("```json\n", 1)[1].split("```", 1)[0])
    return found


def _fields(kind: str, direction: type) -> tuple[set[str], set[str]]:
    """(all fields, required fields) of the struct of a message type."""
    for struct in typing.get_args(direction):
        if struct.__struct_config__.tag == kind:
            info = msgspec.inspect.type_info(struct)
            assert isinstance(info, msgspec.inspect.StructType)
            return {f.name for f in info.fields}, {f.name for f in info.fields if f.required}
    raise AssertionError(f"no struct for {kind}")


def test_every_server_example_has_the_structs_fields() -> None:
    """Each server message's example shows every field its struct has, and no other."""
    examples = _examples("Server to client")
    assert set(examples) == protocol.server_types(), "every server message has an example"
    for kind, example in examples.items():
        fields, _required = _fields(kind, protocol.ServerMessage)
        assert set(example) - {"type"} == fields, kind


def test_every_client_example_names_only_the_structs_fields() -> None:
    for kind, example in _examples("Client to server").items():
        fields, required = _fields(kind, protocol.ClientMessage)
        keys = set(example) - {"type"}
        assert required <= keys <= fields, kind


def _js_fields(body: str) -> set[str]:
    """The field names of one ``{type: "x", a: ..., b?: ...}`` object type, at its top level."""
    inner = body.strip()[1:-1] if body.strip().startswith("{") else body
    names, depth, token = set(), 0, ""
    for char in inner:
        if char in "{[(<":
            depth += 1
        elif char in "}])>":
            depth -= 1
        if depth == 0 and char == ",":
            token = ""
            continue
        token += char
        if depth == 0 and char == ":" and token.count(":") == 1:
            names.add(token[:-1].strip().rstrip("?"))
    return names - {"type"}


def test_the_browser_client_has_the_structs_fields() -> None:
    """Each server message's typedef in protocol.js has its struct's fields, and each client
    message of the ClientMessage union too."""
    for struct in typing.get_args(protocol.ServerMessage):
        kind = struct.__struct_config__.tag
        name = "".join(part.title() for part in kind.split("_")) + "Message"
        if kind == "evaluation":
            name = "EvaluationMessage"
        typedef = _js_typedef(name).replace("\n *", " ")
        fields, _ = _fields(kind, protocol.ServerMessage)
        assert _js_fields(typedef[1:-1]) == fields, kind
    union = _js_typedef("ClientMessage").replace("\n *", " ")
    for body in re.findall(r"\{\{?(type: \"[a-z_]+\"[^{}]*(?:\{[^{}]*\}[^{}]*)*)\}", union):
        kind = re.match(r'type: "([a-z_]+)"', body)
        assert kind is not None
        fields, _ = _fields(kind.group(1), protocol.ClientMessage)
        assert _js_fields(body) == fields, kind.group(1)


def test_the_https_examples_parse_as_their_bodies() -> None:
    """The doc's request bodies are what the server's typed bodies take."""
    section = _section("HTTPS endpoints")
    for path, kind in (
        ("join", bodies.JoinBody),
        ("resume", bodies.ResumeBody),
        ("rejoin", bodies.RejoinBody),
    ):
        part = section.split(f"### `POST /api/sessions/{{code}}/{path}`", 1)[1]
        example = part.split("```json\n", 1)[1].split("```", 1)[0]
        assert isinstance(bodies.parse_body(example.replace("…", "x").encode(), kind), kind)
