"""A rule's refusal: a one-line message for the operator and its type for the doors."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.errors import Refusal


@dataclass(frozen=True)
class Refused:
    message: str
    refusal: Refusal
