"""Reading a campaign spec file (YAML) into a CampaignSpecFile, and writing one back.

pydantic says what is wrong and where in the data (`pr.title`); PyYAML's nodes say where that
is in the file. Every error becomes one line `file:line: where: what`, all of them at once, so
an operator fixes the file in one pass. Nothing here talks to Temporal or GitHub.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from common.errors import SpecError
from contracts.campaign_spec import TEMPLATE_VARIABLE, CampaignSpecFile

MAX_SPEC_BYTES = 1024 * 1024
# The keys holding paths, resolved against the spec file's folder.
_PATHS = (("targets", "repos_file"), ("prompt_file",), ("pr", "body_file"))


def load_spec(path: Path) -> CampaignSpecFile:
    if not path.is_file():
        raise SpecError([f"{path}: spec file not found"])
    raw = path.read_bytes()
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError([f"{path}: {len(raw)} bytes; a spec file is at most {MAX_SPEC_BYTES}"])
    return parse_spec(raw.decode("utf-8", errors="replace"), str(path), path.parent)


def parse_spec(text: str, where: str, base: Path) -> CampaignSpecFile:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise SpecError([f"{where}:{line}: not YAML: {err.problem or err.context}"]) from None
    except yaml.YAMLError as err:
        raise SpecError([f"{where}: not YAML: {err}"]) from None
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1 if root is not None else 1
        raise SpecError([f"{where}:{line}: a campaign spec is a mapping (name:, targets:, …)"])
    duplicates = list(_duplicate_keys(root, where))
    if duplicates:
        raise SpecError(duplicates)
    data = yaml.SafeLoader(text).get_single_data()
    for keys in _PATHS:
        _resolve_path(data, keys, base)
    try:
        return CampaignSpecFile.model_validate(data)
    except ValidationError as err:
        found = [_error_line(root, where, error) for error in err.errors(include_url=False)]
        raise SpecError([text for _, text in sorted(found)]) from None


def _duplicate_keys(node: yaml.Node, where: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    yield f"{where}:{key.start_mark.line + 1}: {key.value}: given twice"
                seen.add(key.value)
            yield from _duplicate_keys(value, where)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item, where)


def _resolve_path(data: Any, keys: tuple[str, ...], base: Path) -> None:
    *parents, last = keys
    for key in parents:
        data = data.get(key) if isinstance(data, dict) else None
    if isinstance(data, dict) and isinstance(data.get(last), str):
        data[last] = str((base / Path(data[last]).expanduser()).resolve())


def _error_line(root: yaml.MappingNode, where: str, error: Any) -> tuple[int, str]:
    loc = tuple(error["loc"])
    node, key_node = _node_at(root, loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
        node = key_node or node
    elif error["type"] == "missing":
        message = "missing"
    elif isinstance(node, yaml.CollectionNode) and key_node is not None:
        node = key_node  # a whole section is wrong: its key's line, not its first entry's
    line = node.start_mark.line + 1
    line += _line_within(node, message)
    dotted = ".".join(str(part) for part in loc) or "spec"
    return line, f"{where}:{line}: {dotted}: {message}"


def _node_at(root: yaml.Node, loc: tuple[Any, ...]) -> tuple[yaml.Node, yaml.Node | None]:
    """The deepest node of `loc` present in the file (a missing key: its parent mapping), and
    the key node of the last step when there is one."""
    node: yaml.Node = root
    key_node: yaml.Node | None = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(
                (
                    (k, v)
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode) and k.value == part
                ),
                None,
            )
            if found is None:
                break
            key_node, node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            key_node, node = None, node.value[part]
        else:
            break
    return node, key_node


def _line_within(node: yaml.Node, message: str) -> int:
    """A template variable in a block scalar (`body: |`) is reported on its own line."""
    if not isinstance(node, yaml.ScalarNode) or node.style not in ("|", ">"):
        return 0
    match = TEMPLATE_VARIABLE.search(message)
    if match is None:
        return 0
    for index, text in enumerate(node.value.splitlines()):
        if match.group(0) in text:
            return index + 1  # the block starts on the line after its indicator
    return 0


def spec_yaml(spec: CampaignSpecFile) -> str:
    """The spec as a file would say it, defaults left out (`campaign start --print-spec`)."""
    data = spec.model_dump(mode="json", exclude_defaults=True)
    data = {"name": spec.name, **data}  # the name first, however pydantic orders it
    rollout = spec.rollout
    # A window or threshold equal to the defaults is written whole: `windows: [{}]` would load
    # as the same spec but tell a reader nothing.
    if rollout.windows:
        data["rollout"]["windows"] = [window.model_dump(mode="json") for window in rollout.windows]
    if rollout.failure_threshold is not None:
        data["rollout"]["failure_threshold"] = rollout.failure_threshold.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
