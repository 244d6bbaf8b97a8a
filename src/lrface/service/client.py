"""A small client of ``lrface serve`` on the standard library (used by the tests and the load
benchmark; any HTTP client works the same way)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any


class Client:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 120.0) -> None:
        self.base, self.token, self.timeout = base_url.rstrip("/"), token, timeout

    def request(self, method: str, path: str, files: dict[str, Any] | None = None,
                data: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, JSON body). ``files``: field -> path, bytes, or a list of them (several files)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = None
        if files or data:
            boundary = uuid.uuid4().hex
            parts: list[bytes] = []
            for key, value in (data or {}).items():
                if value is not None:
                    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
            for key, value in (files or {}).items():
                for k, item in enumerate(value if isinstance(value, list) else [value]):
                    name, content = (Path(item).name, Path(item).read_bytes()) if not isinstance(item, bytes) \
                        else (f"upload{k}.jpg", item)
                    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{name}"\r\n'
                                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"error": raw.decode(errors="replace")}

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def post(self, path: str, files: dict[str, Any] | None = None, data: dict[str, Any] | None = None) -> tuple[int, Any]:
        return self.request("POST", path, files, data)

    def delete(self, path: str) -> tuple[int, Any]:
        return self.request("DELETE", path)
