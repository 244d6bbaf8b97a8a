"""The contract of every result the library returns: ``to_dict()`` (JSON-ready: what ``--json``
prints and the service sends) and ``to_json()``."""
from __future__ import annotations

import json
from typing import Any


class JsonResult:
    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_json(self) -> str:
        return json.dumps(self.to_dict())
