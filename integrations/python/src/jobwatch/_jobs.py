"""Job definitions as integrations keep them: merged into what the server has (the admin API) or
written as a jobs file (`jobwatch jobs apply -f`)."""

import os
import re
import tempfile
from collections.abc import Mapping
from typing import Any, Optional, Union

from ._client import Client, valid_slug

#: The settings of a job document (`PUT /api/v1/jobs/{slug}`), as the admin API names them.
SETTING_NAMES = (
    "schedule",
    "tz",
    "every",
    "on_demand",
    "grace",
    "max_runtime",
    "min_runtime",
    "failure_threshold",
    "recovery_threshold",
    "severity",
    "tags",
    "description",
    "late_alert",
    "repeat_interval",
    "group",
    "flap_threshold",
    "flap_window",
    "flap_stable",
)
#: The settings an integration owns: when a job runs. The others are left as the user set them.
SCHEDULE_SETTINGS = ("schedule", "tz", "every", "on_demand")
_DURATIONS = (
    "every",
    "grace",
    "max_runtime",
    "min_runtime",
    "repeat_interval",
    "flap_window",
    "flap_stable",
)
_UNITS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION_PART = re.compile(r"\s*([0-9]+)([a-z]+)")


def duration_ms(value: Any) -> Optional[int]:
    """Milliseconds of a duration as jobwatch writes them (`90s`, `1h30m`, whole seconds)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * 1000
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isdigit():
        return int(text) * 1000
    total, position = 0, 0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None or match.group(2) not in _UNITS:
            return None
        total += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    return total if text else None


def _normal(name: str, value: Any, doc: Mapping[str, Any]) -> Any:
    if name in _DURATIONS and value is not None:
        ms = duration_ms(value)
        return value if ms is None else ms
    if name == "tz" and value is None and doc.get("schedule") is not None:
        return "UTC"
    if name == "schedule" and isinstance(value, str):
        return " ".join(value.split())
    if name == "on_demand":
        return bool(value)
    return value


def same_settings(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two job documents mean the same definition (durations compared by value)."""
    return all(
        _normal(name, a.get(name), a) == _normal(name, b.get(name), b) for name in SETTING_NAMES
    )


def settings_of(view: Mapping[str, Any]) -> dict:
    """The settings in the admin API's view of a job (which also holds its state and URLs)."""
    return {name: view[name] for name in SETTING_NAMES if view.get(name) is not None}


def merged(current: Optional[Mapping[str, Any]], desired: Mapping[str, Any]) -> dict:
    """`desired` laid over the job the server has: the schedule settings are replaced as a
    whole (a `schedule` drops `every` and the reverse), the settings `desired` names replace
    the server's, and every other setting stays as the user set it."""
    base = settings_of(current or {})
    if any(name in desired for name in SCHEDULE_SETTINGS):
        for name in SCHEDULE_SETTINGS:
            base.pop(name, None)
    base.update({name: value for name, value in desired.items() if value is not None})
    return base


def sync_job(client: Client, slug: str, desired: Mapping[str, Any]) -> str:
    """Makes the server's job `slug` carry `desired`: `created`, `updated` or `unchanged`.
    Raises `JobwatchError` when the admin API does not answer or refuses."""
    current = client.get_job(slug)
    doc = merged(current, desired)
    if current is not None and same_settings(doc, settings_of(current)):
        return "unchanged"
    status, _ = client.put_job(slug, doc)
    return "created" if status == 201 else "updated"


# ------------------------------------------------------------------------------- jobs file


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return _toml_string(str(value))


def dumps_jobs(jobs: Mapping[str, Mapping[str, Any]], header: str = "") -> str:
    """A jobs file, as `jobwatch jobs apply -f` reads it: one `[jobs.<slug>]` table each."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for slug in sorted(jobs):
        if not valid_slug(slug):
            raise ValueError(f"invalid slug {slug!r}")
        if lines:
            lines.append("")
        lines.append(f"[jobs.{slug}]")
        for name, value in jobs[slug].items():
            if value is not None:
                lines.append(f"{name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def write_jobs_file(path: Union[str, os.PathLike], text: str) -> None:
    """Writes `text` to `path` at once (a reader never sees half a file)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".jobs-", suffix=".toml", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
