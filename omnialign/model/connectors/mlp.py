"""LLaVA projectors: ``linear`` (LLaVA-1) and ``mlp2x_gelu`` (LLaVA-1.5: Linear → GELU → Linear)."""

from __future__ import annotations

from torch import nn

from omnialign.model.connectors.base import CONNECTORS, Connector, ConnectorOutput, full_lengths


@CONNECTORS.register("linear")
class LinearConnector(Connector):
    def __init__(self, in_dim: int, out_dim: int, bias: bool = True):
        super().__init__(in_dim, out_dim)
        self.proj = nn.Linear(in_dim, out_dim, bias=bias)

    def forward(self, features, feature_mask=None, text_embeds=None, text_mask=None):
        return ConnectorOutput(self.proj(features), full_lengths(features, feature_mask))


@CONNECTORS.register("mlp2x_gelu")
class MLP2xGeluConnector(Connector):
    def __init__(self, in_dim: int, out_dim: int, bias: bool = True):
        super().__init__(in_dim, out_dim)
        self.linear_1 = nn.Linear(in_dim, out_dim, bias=bias)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(out_dim, out_dim, bias=bias)

    def forward(self, features, feature_mask=None, text_embeds=None, text_mask=None):
        return ConnectorOutput(self.linear_2(self.act(self.linear_1(features))), full_lengths(features, feature_mask))
