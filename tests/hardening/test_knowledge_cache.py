"""The compiled-knowledge cache is data, never code: planted, foreign, corrupted or bit-flipped
files are rebuilt from the knowledge files and never change the advice."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from advisor.core.engine import recommend
from advisor.core.knowledge import Knowledge
from advisor.files import knowledge_cache
from advisor.files.answer_files import load_answers
from advisor.files.knowledge_files import (
    CACHE_PREFIX,
    _cache_file,
    _knowledge_paths,
    _sources,
    knowledge_dir,
    load_knowledge,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = ["nlp-research-lab", "mobile-vision-app", "legacy-mxnet-service", "web-tabular-widget"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(folder))
    monkeypatch.delenv("ADVISOR_NO_CACHE", raising=False)
    return folder


def _sources_now() -> dict[str, str]:
    root = knowledge_dir()
    sources = _sources(root, _knowledge_paths(root))
    assert sources is not None
    return sources


def _cache_path() -> Path:
    path = _cache_file(_sources_now())
    assert path is not None
    return path


def _uncached() -> Knowledge:
    os.environ["ADVISOR_NO_CACHE"] = "1"
    try:
        return load_knowledge()
    finally:
        del os.environ["ADVISOR_NO_CACHE"]


def _advice(knowledge: Knowledge) -> list[str]:
    return [
        recommend(
            load_answers(str(REPO / "examples" / f"{name}.toml")), knowledge=knowledge
        ).model_dump_json()
        for name in EXAMPLES
    ]


def _same(a: Any, b: Any, where: str = "knowledge") -> None:
    """Deep equality that also compares what == skips: types, fields_set, slots, identity-free.
    A table the cache decodes on demand (LazyMapping) counts as the dict it stands for."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        assert list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}[{key!r}]")
        return
    assert type(a) is type(b), where
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set, where
        assert a.__pydantic_extra__ == b.__pydantic_extra__, where
        for name in type(a).model_fields:
            _same(getattr(a, name), getattr(b, name), f"{where}.{name}")
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif hasattr(type(a), "__slots__") and not isinstance(a, str | int | float | frozenset):
        for name in type(a).__slots__:
            if name != "__weakref__":
                _same(getattr(a, name), getattr(b, name), f"{where}.{name}")
    else:
        assert a == b, where


def test_the_cache_is_checksummed_json_in_a_private_folder_and_equals_a_fresh_build(
    cache: Path,
) -> None:
    built = load_knowledge()  # builds and writes the cache
    path = _cache_path()
    blob = path.read_bytes()
    assert blob.startswith(b"advisor-knowledge-cache 1 ")
    _, _, body = blob.partition(b"\n")
    classes, sources, data = body.split(b"\n")
    json.loads(classes), json.loads(data)  # plain JSON, no pickle opcodes
    assert json.loads(sources) == _sources_now()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_knowledge()  # from the cache
    assert loaded is not built
    _same(loaded, built)
    _same(loaded, _uncached())
    assert _advice(loaded) == _advice(built)


def test_an_existing_wide_open_cache_folder_is_narrowed_to_0700(cache: Path) -> None:
    cache.mkdir(parents=True)
    cache.chmod(0o777)
    load_knowledge()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


_PLANTED = """
import os, pickle, sys
class Boom:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
with open(sys.argv[1], "wb") as handle:
    pickle.dump(Boom(), handle)
"""


def test_a_planted_pickle_never_runs_and_the_cache_is_rebuilt(cache: Path, tmp_path: Path) -> None:
    cache.mkdir(parents=True, mode=0o700)
    marker = tmp_path / "pwned"
    target = _cache_path()
    old_style = cache / f"{CACHE_PREFIX}0123456789abcdef0123.pickle"
    for planted in (target, old_style):
        subprocess.run([sys.executable, "-c", _PLANTED, str(planted), str(marker)], check=True)
    env = {**os.environ, "ADVISOR_CACHE_DIR": str(cache)}
    args = [sys.executable, "-m", "advisor", "recommend", "--no-calibrate", "--format", "json"]
    args += ["--answers", str(REPO / "examples" / "nlp-research-lab.toml")]
    first = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert not marker.exists()
    assert target.read_bytes().startswith(b"advisor-knowledge-cache 1 ")  # rebuilt as data
    assert not old_style.exists()  # an old pickle is removed, never read
    clean = subprocess.run(
        args,
        cwd=REPO,
        env={**env, "ADVISOR_NO_CACHE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert first.stdout == clean.stdout
    assert not marker.exists()


def test_random_bit_flips_and_byte_damage_are_detected_and_never_change_the_advice(
    cache: Path,
) -> None:
    baseline = _advice(_uncached())
    load_knowledge()
    path = _cache_path()
    pristine = path.read_bytes()
    sources = _sources_now()
    rng = random.Random(17)
    for trial in range(400):
        blob = bytearray(pristine)
        kind = trial % 4
        if kind == 0:  # one bit
            bit = rng.randrange(len(blob) * 8)
            blob[bit // 8] ^= 1 << (bit % 8)
        elif kind == 1:  # a few random bytes
            for _ in range(rng.randint(1, 8)):  # each a different value than it was
                at = rng.randrange(len(blob))
                blob[at] = (blob[at] + rng.randrange(1, 256)) % 256
        elif kind == 2:  # truncated
            del blob[rng.randrange(len(blob)) :]
        else:  # a bit in the header's checksum or magic
            bit = rng.randrange(blob.index(b"\n") * 8)
            blob[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(knowledge_cache.Invalid):
            knowledge_cache.decode(bytes(blob), sources)
        if trial % 40 == 0:  # the whole path: the damaged file is rebuilt, the advice unchanged
            path.write_bytes(bytes(blob))
            assert _advice(load_knowledge()) == baseline
            assert path.read_bytes() == pristine or path.read_bytes().startswith(
                b"advisor-knowledge-cache 1 "
            )
            _same(knowledge_cache.decode(path.read_bytes(), sources), _uncached())


def _reseal(body: bytes) -> bytes:
    import hashlib

    return b"advisor-knowledge-cache 1 " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


@pytest.mark.parametrize(
    "evil_class",
    ["os:system", "subprocess:Popen", "builtins:eval", "advisor.core.knowledge:json", "x"],
)
def test_a_well_sealed_file_naming_foreign_classes_is_refused(cache: Path, evil_class: str) -> None:
    load_knowledge()
    path = _cache_path()
    _, _, body = path.read_bytes().partition(b"\n")
    classes, sources, data = body.split(b"\n")
    table = json.loads(classes)
    table[0][0] = evil_class
    forged = _reseal(b"\n".join([json.dumps(table).encode(), sources, data]))
    with pytest.raises(knowledge_cache.Invalid):
        knowledge_cache.decode(forged, _sources_now())
    path.write_bytes(forged)
    _same(load_knowledge(), _uncached())


def test_a_cache_built_from_other_sources_is_not_used(cache: Path) -> None:
    load_knowledge()
    path = _cache_path()
    sources = {**_sources_now(), "knowledge/claims/facts.toml": "0" * 64}
    with pytest.raises(knowledge_cache.Invalid, match="other sources"):
        knowledge_cache.decode(path.read_bytes(), sources)


def test_a_cache_file_others_may_write_is_not_read(cache: Path) -> None:
    load_knowledge()
    path = _cache_path()
    _, _, body = path.read_bytes().partition(b"\n")
    classes, sources, data = body.split(b"\n")
    document = json.loads(data)
    # a well-formed, well-sealed file with different content: e.g. the version string changed
    fields = json.loads(classes)[document["c"]][1]
    document["v"][fields.index("version")] = "forged"
    path.write_bytes(_reseal(b"\n".join([classes, sources, json.dumps(document).encode()])))
    assert load_knowledge().version == "forged"  # this user's own file is trusted...
    path.chmod(0o666)
    assert load_knowledge().version != "forged"  # ...one that anyone may write is not
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # and it was rewritten


def test_unsupported_objects_are_not_cached() -> None:
    with pytest.raises(knowledge_cache.Unsupported):
        knowledge_cache.encode({"a": object()}, {})
    with pytest.raises(knowledge_cache.Unsupported):
        knowledge_cache.encode(Path("/"), {})


def test_large_tables_decode_on_demand_and_a_damaged_entry_is_a_one_line_error(
    cache: Path,
) -> None:
    load_knowledge()
    loaded = load_knowledge()
    assert isinstance(loaded.claims, knowledge_cache.LazyMapping)
    assert repr(loaded.claims).endswith(" 0 decoded)")
    first = next(iter(loaded.claims))
    assert loaded.claims[first] is loaded.claims[first]  # decoded once, then kept
    assert dict(loaded.claims) == dict(_uncached().claims)
    with pytest.raises(KeyError):
        loaded.claims["no-such-claim"]
    # a forged, resealed file whose entry does not decode: a KnowledgeError, not a traceback
    path = _cache_path()
    _, _, body = path.read_bytes().partition(b"\n")
    classes, sources, data = body.split(b"\n")
    forged = data.replace(b'{\\"~\\":\\"m\\"', b'{\\"~\\":\\"?\\"', 1)
    assert forged != data
    path.write_bytes(_reseal(b"\n".join([classes, sources, forged])))
    from advisor.core.knowledge import KnowledgeError

    damaged = knowledge_cache.decode(path.read_bytes(), _sources_now())
    with pytest.raises(KnowledgeError, match="damaged entry"):
        for table in (damaged.references, damaged.claims):
            for key in table:
                table[key]
