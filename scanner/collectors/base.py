"""What every collector shares: the volume it reads, the knowledge it may consult, its signature.

A collector is ``collect(volume, knowledge, facts) -> facts``: it reads one artefact family from the system
volume and returns the facts found so far with its own added (and a gap for each thing it could not read).
The pipeline runs them in the order of :data:`scanner.collectors.chain.COLLECTORS`.

Collectors sit upstream of :mod:`scanner.knowledge` (tests/scanner/test_layers.py), so the knowledge they
are handed is described here by the attributes they read (:class:`KnowledgeView`, which
``scanner.knowledge.profiles.Knowledge`` satisfies) rather than imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from scanner.model import SystemFacts
from scanner.model.facts_bundle import Facts

__all__ = ["Collector", "KnowledgeView", "SystemVolume"]


@dataclass(frozen=True)
class SystemVolume:
    """The Windows volume being read.

    Attributes:
        fs: its dissect file system (``NtfsFilesystem``, or a directory source's).
        windows_dir: the Windows directory relative to the volume root (``WINDOWS``, ``WINNT``); for a folder
            source without one, the assumed name (the evidence stage recorded that as a gap).
    """

    fs: Any
    windows_dir: str


class KnowledgeView(Protocol):
    """The parts of ``Knowledge`` (profiles/) collectors read: component profiles and the event catalog."""

    @property
    def components(self) -> tuple[Any, ...]: ...  # knowledge.components.Component

    @property
    def events(self) -> Any: ...  # knowledge.events.EventCatalog (``wants``: which records to keep)

    def components_for(self, system: SystemFacts | None) -> tuple[Any, ...]: ...


class Collector(Protocol):
    """One artefact family's reader (see the module docstring)."""

    def __call__(self, volume: SystemVolume, knowledge: KnowledgeView, facts: Facts) -> Facts: ...
