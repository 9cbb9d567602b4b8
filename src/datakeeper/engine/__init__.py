"""Plan/apply engine: resources say what differs, one executor acts or only reports."""

from datakeeper.engine.change import Change, Result
from datakeeper.engine.executor import Executor, Outcome
from datakeeper.engine.resource import Resource

__all__ = ["Change", "Executor", "Outcome", "Resource", "Result"]
