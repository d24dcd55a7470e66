"""Connector registry. Importing this package registers every built-in connector."""

from __future__ import annotations

import importlib

from omnialign.model.connectors.base import CONNECTORS, Connector, ConnectorOutput

_BUILTIN_MODULES = ["mlp", "qformer", "parrot_moe", "cif"]
for _m in _BUILTIN_MODULES:
    try:
        importlib.import_module(f"omnialign.model.connectors.{_m}")
    except ModuleNotFoundError as e:  # a connector module not written yet
        if e.name != f"omnialign.model.connectors.{_m}":
            raise


def build_connector(name: str, in_dim: int, out_dim: int, **kwargs) -> Connector:
    return CONNECTORS[name](in_dim, out_dim, **kwargs)


__all__ = ["CONNECTORS", "Connector", "ConnectorOutput", "build_connector"]
