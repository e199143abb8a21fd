"""Reading the file: ``Source`` (read more than once, a chunk at a time, checked as
UTF-8 and fingerprinted) and ``ijson`` over it. ``members`` gives the top-level object's
members in order, each section's items one at a time; ``users`` streams just the users.
Malformed JSON is reported with its line and column."""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import ijson
from ijson.backends import python as ijson_python

KINDS = ("resellers", "groups", "users")
CHUNK = 1 << 18  # characters (or bytes) read at a time
_UNEXPECTED = re.compile(r"Unexpected symbol (.*) at (\d+)$")


class ImportRefused(Exception):
    """The file has errors; nothing was changed. ``errors`` lists each with its place."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} error{'s' if len(errors) != 1 else ''}")
        self.errors = errors


class UnreadableFile(Exception):
    """The file is not UTF-8 text; the message says at which byte."""


class Source:
    """The JSON to import, readable more than once (checked, then written) a chunk at a
    time: text already in memory, a file by path, or an open binary file (standard input
    copied to a temporary file). Files are decoded as UTF-8, with or without a BOM."""

    def __init__(
        self, *, text: str | None = None, path: Path | None = None, file: BinaryIO | None = None
    ):
        if (text is not None) + (path is not None) + (file is not None) != 1:
            raise ValueError("give exactly one of text, path or file")
        self.text, self.path, self.file = text, path, file
        self.digests: list[bytes] = []  # one per complete read of a file

    @classmethod
    def of(cls, value) -> Source:
        if isinstance(value, Source):
            return value
        if isinstance(value, Path):
            return cls(path=value)
        return cls(text=value)

    @property
    def size(self) -> int:
        """Characters (text) or bytes (files): what ``chunks`` counts its position in."""
        if self.text is not None:
            return len(self.text)
        if self.path is not None:
            return self.path.stat().st_size
        self.file.seek(0, 2)
        return self.file.tell()

    def chunks(self) -> Iterator[tuple[str, int]]:
        """(text, position in the source after it), to the end."""
        if self.text is not None:
            for start in range(0, len(self.text), CHUNK):
                yield self.text[start : start + CHUNK], min(start + CHUNK, len(self.text))
            return
        if self.path is not None:
            with self.path.open("rb") as handle:
                yield from self._decoded(handle)
        else:
            yield from self._decoded(self.file)

    def _decoded(self, handle: BinaryIO) -> Iterator[tuple[str, int]]:
        handle.seek(0)
        digest = hashlib.blake2b(digest_size=16)
        decoder = codecs.getincrementaldecoder("utf-8")()
        raw = handle.read(max(CHUNK, len(codecs.BOM_UTF8)))
        position = len(raw)
        digest.update(raw)
        data = raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw
        decoded = 0  # bytes given to the decoder so far, the BOM left out
        while True:
            final = not raw
            held = len(decoder.getstate()[0])  # an incomplete character from the last chunk
            try:
                text = decoder.decode(data, final=final)
            except UnicodeDecodeError as error:
                raise UnreadableFile(
                    f"not UTF-8 text (byte {decoded - held + error.start})"
                ) from None
            decoded += len(data)
            if text:
                yield text, position
            if final:
                self.digests.append(digest.digest())
                return
            raw = data = handle.read(CHUNK)
            position += len(raw)
            digest.update(raw)


class _Reader:
    """``Source.chunks`` as the binary file ijson reads; ``position`` for a progress bar."""

    def __init__(self, source: Source):
        self._chunks = source.chunks()
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson asks for nothing first, to see bytes or text
            return b""
        chunk = next(self._chunks, None)
        if chunk is None:
            return b""
        text, self.position = chunk
        return text.encode("utf-8")


class JSONObject(dict):
    """A JSON object that remembers keys it saw twice (a plain dict keeps the last)."""

    __slots__ = ("repeated",)

    def __init__(self):
        super().__init__()
        self.repeated: list[str] = []

    def put(self, key: str, value) -> None:
        if key in self and key not in self.repeated:
            self.repeated.append(key)
        self[key] = value


_OPEN = {"start_map": JSONObject, "start_array": list}
_CLOSE = frozenset({"end_map", "end_array"})


def _value(event: str, value, events):
    """The value that starts with this event, built from ijson's events."""
    if event not in _OPEN:
        return value
    root = _OPEN[event]()
    stack, keys = [root], [None]
    for event, value in events:
        if event == "map_key":
            keys[-1] = value
            continue
        if event in _CLOSE:
            stack.pop()
            keys.pop()
            if not stack:
                return root
            continue
        parent = stack[-1]
        if event in _OPEN:
            value = _OPEN[event]()
            stack.append(value)
            keys.append(None)
        if type(parent) is list:
            parent.append(value)
        else:
            parent.put(keys[-2] if event in _OPEN else keys[-1], value)
    return root


def _items(events) -> Iterator:
    for event, value in events:
        if event == "end_array":
            return
        yield _value(event, value, events)


def members(reader: _Reader) -> Iterator[tuple[str | None, object]]:
    """The top-level object's members in order, as (key, value); the value of a
    resellers, groups or users list is an iterator over its items, drained if the caller
    does not read it. A top level that is not an object is (None, value)."""
    events = ijson.basic_parse(reader, use_float=True)
    event, value = next(events, ("end", None))
    if event != "start_map":
        yield None, _value(event, value, events)
        for _ in events:  # ijson reports extra data, or the end that never came
            pass
        return
    for event, key in events:
        if event == "end_map":
            break
        event, value = next(events)
        if event == "start_array" and key in KINDS:
            items = _items(events)
            yield key, items
            for _ in items:
                pass
        else:
            yield key, _value(event, value, events)
    for _ in events:
        pass


def users(reader: _Reader) -> Iterator[dict]:
    """The users' objects, one at a time (for a file already found valid)."""
    return ijson.items(reader, "users.item", use_float=True)


def json_error(source: Source, error: Exception) -> ImportRefused:
    """ijson's fast parser says what is wrong; its pure-Python one, run again up to the
    mistake, says at which character. Given as line and column, like ``json.loads``."""
    message = str(error).splitlines()[0] if str(error) else "not valid JSON"
    message = re.sub(r"^(parse|lexical) error: ", "", message).rstrip(".")
    ends_early = message == "premature EOF"
    if ends_early:
        message = "the file ends before the JSON does"
    offset = None
    try:
        for _ in ijson_python.basic_parse(_Reader(source)):
            pass
    except ijson.IncompleteJSONError:
        offset = _length(source) if ends_early else None
    except (ijson.JSONError, ValueError) as slow:
        if found := _UNEXPECTED.match(str(slow)):
            offset = int(found[2])
    if offset is None:
        return ImportRefused([f"not valid JSON: {message}"])
    line, column = _line_and_column(source, offset)
    return ImportRefused([f"line {line}, column {column}: not valid JSON: {message}"])


def _length(source: Source) -> int:
    return sum(len(text) for text, _position in source.chunks())


def _line_and_column(source: Source, offset: int) -> tuple[int, int]:
    line, last_newline, seen = 1, -1, 0
    for text, _position in source.chunks():
        before = text[: max(0, offset - seen)]
        if newlines := before.count("\n"):
            line += newlines
            last_newline = seen + before.rfind("\n")
        seen += len(text)
        if seen >= offset:
            break
    return line, offset - last_newline
