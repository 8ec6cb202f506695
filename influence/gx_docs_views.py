"""Data Docs views that compile GX's Jinja templates once per process.

GX builds a new Jinja environment for every view it creates: four for every Data Docs build (one
per site section and the index), and a build per check stage and day. Jinja keeps compiled
templates per environment, so every build compiled the same templates from source again. These
views give their environments one bytecode cache shared by the process (Jinja's own mechanism for
reusing compiled templates across environments; a template whose source changes is compiled
again): a template is compiled once per process, and later builds load its code.
`influence.quality` names them in its Data Docs site configuration.
"""

from __future__ import annotations

from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class _ProcessBytecodeCache(BytecodeCache):
    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # ignored if the template's source changed

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _ProcessBytecodeCache()


class _SharedBytecodeCache:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _BYTECODE  # type: ignore[attr-defined]


class CachedJinjaPageView(_SharedBytecodeCache, DefaultJinjaPageView):
    pass


class CachedJinjaIndexPageView(_SharedBytecodeCache, DefaultJinjaIndexPageView):
    pass
