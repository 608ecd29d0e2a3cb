"""What one sample of a feed is on disk: its model and judged checks as redacted JSON, compressed with zstandard.

A feed's samples come in segments: the first is a keyframe (the JSON compressed alone), each later one a delta (its
JSON compressed with the keyframe's JSON as zstd's raw-content dictionary, so what did not change since the
keyframe costs a few bytes). Reading any sample takes at most two decompressions, so seeking never replays a chain.
A new keyframe starts every `KEYFRAME_EVERY` samples, or sooner when a delta grows past half its keyframe.

A model is stored with its class ("module:Class"), restored only when that class lives in `console.models` (the
file is trusted as the journal is, and this keeps it from naming anything else to import).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from dataclasses import dataclass
from typing import Any

import zstandard
from pydantic import BaseModel, TypeAdapter

from console.models import Check
from console.redact import Redactor

KEYFRAME_EVERY = 150  # samples per segment: 5 minutes of a 2 s feed
LEVEL = 3  # zstd's default: level 9 saved 4% more on PostgreSQL snapshots at twice the CPU
MODELS = "console.models."


@dataclass(frozen=True)
class Sample:
    """One feed's model and checks as seen at `at` (epoch seconds), before encoding."""

    feed: str
    at: float
    interval: float
    model: Any
    checks: list[Check]


def payload(sample: Sample, redactor: Redactor) -> bytes:
    """The sample as JSON bytes, every string through the journal's redactor first."""
    model = sample.model
    kind = type(model)
    data: dict[str, Any] = {"checks": [check.model_dump(mode="json") for check in sample.checks]}
    if kind.__module__.startswith(MODELS) and (isinstance(model, BaseModel) or dataclasses.is_dataclass(model)):
        data["type"] = f"{kind.__module__}:{kind.__qualname__}"
        data["model"] = _adapter(kind).dump_python(model, mode="json")
    return json.dumps(redactor.value(data), separators=(",", ":")).encode()


@dataclass(frozen=True)
class Decoded:
    """A sample read back: the model (None when its class was not one of console.models) and its checks."""

    model: Any
    model_json: dict[str, Any] | None
    checks: list[Check]


def decode(raw: bytes) -> Decoded:
    """A sample's JSON back to a model and checks; ValueError when it is not what `payload` writes."""
    data = json.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise ValueError("a sample without its checks")
    checks = [Check.model_validate(check) for check in data["checks"]]
    kind, model_json = data.get("type"), data.get("model")
    model = None
    if isinstance(kind, str) and isinstance(model_json, dict):
        model = _adapter(_model_class(kind)).validate_python(model_json)
    return Decoded(model, model_json if isinstance(model_json, dict) else None, checks)


def _model_class(name: str) -> type:
    module, _, qualname = name.partition(":")
    if not module.startswith(MODELS) or not qualname.isidentifier():
        raise ValueError(f"a sample names {name!r}, not a model of console.models")
    kind = getattr(importlib.import_module(module), qualname, None)
    if not isinstance(kind, type) or not (issubclass(kind, BaseModel) or dataclasses.is_dataclass(kind)):
        raise ValueError(f"a sample names {name!r}, not a model of console.models")
    return kind


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(kind: type) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


class Encoder:
    """One feed's segments as they are written: `encode` says whether the blob is a keyframe."""

    def __init__(self, every: int = KEYFRAME_EVERY) -> None:
        self.every = every
        self.key_id: int | None = None  # the row of the current keyframe, once written
        self._key: bytes = b""
        self._count = 0
        self._plain = zstandard.ZstdCompressor(level=LEVEL)
        self._delta: zstandard.ZstdCompressor | None = None

    def encode(self, raw: bytes) -> tuple[bool, bytes]:
        if self._delta is not None and self.key_id is not None and self._count < self.every:
            blob = self._delta.compress(raw)
            if len(blob) * 2 < len(self._key):
                self._count += 1
                return False, blob
        self._key, self._count, self.key_id = raw, 1, None
        self._delta = zstandard.ZstdCompressor(level=LEVEL, dict_data=_dictionary(raw))
        return True, self._plain.compress(raw)


def _dictionary(raw: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(raw, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


class Decoder:
    """Reads blobs back, keeping the last keyframes' dictionaries (a scrubber reads one segment many times)."""

    def __init__(self, size: int = 64) -> None:
        self._plain = zstandard.ZstdDecompressor()
        self._keys: dict[int, tuple[bytes, zstandard.ZstdDecompressor]] = {}
        self._size = size

    def keyframe(self, key_id: int, blob: bytes) -> bytes:
        found = self._keys.get(key_id)
        if found is None:
            raw = self._plain.decompress(blob)
            found = (raw, zstandard.ZstdDecompressor(dict_data=_dictionary(raw)))
            if len(self._keys) >= self._size:
                self._keys.pop(next(iter(self._keys)))
            self._keys[key_id] = found
        return found[0]

    def delta(self, key_id: int, key_blob: bytes, blob: bytes) -> bytes:
        self.keyframe(key_id, key_blob)
        return self._keys[key_id][1].decompress(blob)
