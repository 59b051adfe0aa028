"""The seeds' operations and their success response examples, read from the seed text
(``../shared/seeds``): seed 000 writes ``GET/path`` … ``200Description`` / ``Content-Type:
application/json`` / JSON; seed 001 writes ``GET /path`` … ``Response Example (200 OK)`` / JSON."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
_OP = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) ?(/\S*)$")
_A_STATUS = re.compile(r"^(\d{3})\S")
_B_EXAMPLE = re.compile(r"^Response Example \((\d{3})")


@dataclass(frozen=True)
class SeedResponse:
    seed: str
    line: int
    method: str
    path: str
    status: int
    example: object


def _json_at(lines: list[str], start: int):
    """The JSON value starting at ``lines[start]`` (object or array), or None."""
    if start >= len(lines) or not lines[start].lstrip().startswith(("{", "[")):
        return None
    depth, buf = 0, []
    for line in lines[start : start + 400]:
        buf.append(line)
        depth += line.count("{") + line.count("[") - line.count("}") - line.count("]")
        if depth <= 0:
            try:
                return json.loads("\n".join(buf))
            except ValueError:
                return None
    return None


def responses(seed_prefix: str, first: int = 1, last: int | None = None) -> list[SeedResponse]:
    found = sorted(SEEDS.glob(f"{seed_prefix}_*.txt"))
    if not found:
        raise FileNotFoundError(f"seed {seed_prefix} not found in {SEEDS} (shared/ lies beside the checkout)")
    path = found[0]
    lines = path.read_text().splitlines()
    out, current = [], None
    for i, line in enumerate(lines[first - 1 : last], start=first - 1):
        m = _OP.match(line.strip())
        if m:
            current = (m.group(1), m.group(2))
            continue
        if current is None:
            continue
        a = _A_STATUS.match(line)
        if a and i + 1 < len(lines) and lines[i + 1].startswith("Content-Type: application/json"):
            example = _json_at(lines, i + 2)
        else:
            b = _B_EXAMPLE.match(line)
            if not b:
                continue
            a, example = b, _json_at(lines, i + 1)
        status = int(a.group(1))
        if 200 <= status < 300 and example is not None:
            out.append(SeedResponse(path.name, i + 1, current[0], current[1], status, example))
    return out
