"""docs/protocol.md, server/live/protocol.py and web/static/js/protocol.js name the same
messages."""

from __future__ import annotations

import re
from pathlib import Path

from server.live import protocol
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
