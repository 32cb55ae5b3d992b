"""Evaluating ``deploy/iam-policy.json`` against recorded calls: what is missing, what is unused.

A small IAM evaluator for the subset of the policy language the file may use: ``Allow``/``Deny``
statements with ``Action`` and ``Resource`` (``*`` and ``?`` wildcards, case-insensitive actions) and
``StringLike``/``StringEquals`` conditions on ``s3:prefix``. Anything else fails the test loudly instead of
being silently treated as allowed.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .aws_recording import AwsCall

SUPPORTED_CONDITIONS = {"StringLike", "StringEquals"}
SUPPORTED_KEYS = {"s3:prefix"}


def render(path: Path, values: dict[str, str]) -> dict:
    """The policy with its ``${NAME}`` placeholders filled (as ``envsubst`` does before deploying it)."""
    text = path.read_text()
    names = set(re.findall(r"\$\{([A-Z_]+)\}", text))
    missing = names - values.keys()
    assert not missing, f"no value for placeholders {sorted(missing)} of {path.name}"
    for name in names:
        text = text.replace("${" + name + "}", values[name])
    return json.loads(text)


def _list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@dataclass
class Statement:
    sid: str
    effect: str
    actions: list[str]
    resources: list[str]
    conditions: dict

    @classmethod
    def parse(cls, raw: dict, index: int) -> Statement:
        unsupported = set(raw) - {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert not unsupported, f"statement {raw.get('Sid', index)} uses {sorted(unsupported)} (not evaluated here)"
        conditions = raw.get("Condition", {})
        for operator, keys in conditions.items():
            assert operator in SUPPORTED_CONDITIONS, f"condition operator {operator} is not evaluated here"
            assert set(keys) <= SUPPORTED_KEYS, f"condition keys {sorted(keys)} are not evaluated here"
        return cls(raw.get("Sid", f"#{index}"), raw["Effect"], _list(raw["Action"]), _list(raw["Resource"]),
                   conditions)

    def action_patterns(self, call: AwsCall) -> list[str]:
        return [a for a in self.actions if fnmatch.fnmatchcase(call.action.lower(), a.lower())]

    def resource_patterns(self, call: AwsCall) -> list[str]:
        return [r for r in self.resources if fnmatch.fnmatchcase(call.resource, r)]

    def condition_holds(self, call: AwsCall) -> bool:
        context = dict(call.context)
        for operator, keys in self.conditions.items():
            for key, allowed in keys.items():
                if key not in context:
                    return False  # IAM: a condition on an absent key does not match
                value = context[key]
                if operator == "StringEquals" and value not in _list(allowed):
                    return False
                if operator == "StringLike" and not any(fnmatch.fnmatchcase(value, p) for p in _list(allowed)):
                    return False
        return True

    def matches(self, call: AwsCall) -> bool:
        return bool(self.action_patterns(call) and self.resource_patterns(call) and self.condition_holds(call))


@dataclass
class Verdict:
    missing: list[AwsCall]
    unused: list[str]
    scope_problems: list[str]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unused or self.scope_problems)

    def report(self, policy_path: str) -> str:
        lines = [f"{policy_path} does not match what a full AWS-path run does."]
        if self.missing:
            lines.append("MISSING — the code did this, the policy does not allow it (add it, scoped as tightly "
                         "as the examples allow):")
            grouped: dict[str, list[AwsCall]] = defaultdict(list)
            for call in self.missing:
                grouped[call.action].append(call)
            for action in sorted(grouped):
                calls = grouped[action]
                resources = sorted({c.resource + "".join(f" [{k}={v!r}]" for k, v in c.context) for c in calls})
                lines.append(f"  {action}: needed on {len(resources)} resource(s), e.g.")
                lines.extend(f"      {r}" for r in resources[:4])
                lines.append(f"      first from: {calls[0].origin}")
        if self.unused:
            lines.append("UNUSED — the policy allows this, nothing in the run needed it (remove it):")
            lines.extend(f"  {u}" for u in self.unused)
        if self.scope_problems:
            lines.append("OUT OF SCOPE — must stay within the lake prefix, the results prefix, the Glue database "
                         "and the Athena workgroup:")
            lines.extend(f"  {p}" for p in self.scope_problems)
        return "\n".join(lines)


def _in_scope(value: str, scopes: list[str]) -> bool:
    """Scopes ending in ``/`` are prefixes; the others (a bucket, a database, a workgroup) must match exactly."""
    return any(value.startswith(s) if s.endswith("/") else value == s for s in scopes)


def evaluate(policy: dict, calls: list[AwsCall], allowed_scopes: list[str], list_prefixes: list[str]) -> Verdict:
    statements = [Statement.parse(raw, i) for i, raw in enumerate(policy["Statement"])]
    missing = []
    used: set[tuple[int, str, str]] = set()  # (statement, action pattern, resource pattern)
    for call in set(calls):
        if any(s.effect == "Deny" and s.matches(call) for s in statements):
            missing.append(call)
            continue
        allowing = [(i, s) for i, s in enumerate(statements) if s.effect == "Allow" and s.matches(call)]
        if not allowing:
            missing.append(call)
        for i, s in allowing:
            for a in s.action_patterns(call):
                for r in s.resource_patterns(call):
                    used.add((i, a, r))
    unused = []
    for i, s in enumerate(statements):
        if s.effect != "Allow":
            continue
        for a in s.actions:
            if not any((i, a, r) in used for r in s.resources):
                unused.append(f"statement {s.sid}: action {a} (no recorded call on {', '.join(s.resources)})")
        for r in s.resources:
            if not any((i, a, r) in used for a in s.actions):
                unused.append(f"statement {s.sid}: resource {r} (no recorded call of {', '.join(s.actions)})")
    scope = []
    for s in statements:
        for a in s.actions:
            if "*" in a.split(":", 1)[-1]:
                scope.append(f"statement {s.sid}: wildcard action {a}")
        for r in s.resources:
            if not _in_scope(r, allowed_scopes):
                scope.append(f"statement {s.sid}: resource {r}")
        if any(a.lower() == "s3:listbucket" for a in s.actions) and not s.conditions:
            scope.append(f"statement {s.sid}: s3:ListBucket without an s3:prefix condition lists the whole bucket")
        for keys in s.conditions.values():
            for value in _list(keys.get("s3:prefix", [])):
                if not _in_scope(value, list_prefixes):
                    scope.append(f"statement {s.sid}: s3:prefix {value!r} lists beyond the lake/results prefix")
    return Verdict(sorted(missing, key=lambda c: (c.action, c.resource)), unused, scope)
