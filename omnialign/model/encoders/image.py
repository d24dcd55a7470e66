"""Image encoders: transformers CLIP / SigLIP vision towers (from a hub id, a local path or a config).

``feature_layer`` selects the hidden state (LLaVA-1.5: -2, the penultimate layer); ``select``
``default`` drops the CLS token (CLIP; 576 tokens at 336px/14), ``full`` keeps it (Parrot, 577).
SigLIP has no CLS token, so both selections keep every patch.
Preprocessing uses transformers' own image processor for the tower (plus LLaVA's optional
pad-to-square with the mean colour), so features match the encoder's processor exactly.
"""

from __future__ import annotations

import hashlib
import json

import torch
from torch import nn

VISION_TYPES = {"clip": ("CLIPVisionConfig", "CLIPVisionModel"), "siglip": ("SiglipVisionConfig", "SiglipVisionModel")}


class ImageEncoder(nn.Module):
    def __init__(self, vision_model: nn.Module, kind: str, feature_layer: int = -2, select: str = "default", source: str | None = None):
        super().__init__()
        if select not in ("default", "full"):
            raise ValueError(f"select must be 'default' or 'full', got {select!r}")
        self.vision_model = vision_model
        self.kind = kind
        self.feature_layer = feature_layer
        self.select = select
        self.source = source  # hub id / path when loaded from pretrained weights

    @property
    def config(self):
        return self.vision_model.config

    @property
    def has_cls(self) -> bool:
        return self.kind == "clip"

    @property
    def hidden_size(self) -> int:
        return self.config.hidden_size

    @property
    def num_tokens(self) -> int:
        n = (self.config.image_size // self.config.patch_size) ** 2
        return n + 1 if (self.has_cls and self.select == "full") else n

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        out = self.vision_model(pixel_values=pixel_values, output_hidden_states=True)
        h = out.hidden_states[self.feature_layer]
        if self.has_cls and self.select == "default":
            h = h[:, 1:]
        return h

    def fingerprint(self) -> str:
        """Identity of the weights + feature selection, for the feature cache key."""
        h = hashlib.sha256()
        h.update(json.dumps({"kind": self.kind, "layer": self.feature_layer, "select": self.select}).encode())
        for name, p in sorted(self.vision_model.state_dict().items()):
            h.update(name.encode())
            h.update(p.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:32]


def build_image_encoder(kind: str, name_or_path: str | None = None, config: dict | None = None, feature_layer: int = -2, select: str = "default") -> ImageEncoder:
    import transformers

    if kind not in VISION_TYPES:
        raise ValueError(f"unknown image encoder type {kind!r}; known: {sorted(VISION_TYPES)}")
    cfg_cls, model_cls = (getattr(transformers, n) for n in VISION_TYPES[kind])
    if name_or_path:
        model = model_cls.from_pretrained(name_or_path, attn_implementation="sdpa")
    else:
        model = model_cls(cfg_cls(**(config or {})))
    return ImageEncoder(model, kind, feature_layer, select, source=name_or_path)


class ImagePreprocessor:
    """Image → pixel tensor, with the tower's transformers processor (PIL backend)."""

    def __init__(self, processor, pad_to_square: bool = False):
        self.processor = processor
        self.pad_to_square = pad_to_square

    @classmethod
    def for_encoder(cls, encoder: ImageEncoder, pad_to_square: bool = False, name_or_path: str | None = None):
        from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

        if name_or_path:
            from transformers import AutoImageProcessor

            proc = AutoImageProcessor.from_pretrained(name_or_path)
        elif encoder.kind == "clip":
            size = encoder.config.image_size
            proc = CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
        else:
            from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

            size = encoder.config.image_size
            proc = SiglipImageProcessorPil(size={"height": size, "width": size})
        return cls(proc, pad_to_square)

    def key(self) -> str:
        d = self.processor.to_dict()
        d.pop("processor_class", None)
        d["pad_to_square"] = self.pad_to_square
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def _square(self, img):
        from PIL import Image

        w, h = img.size
        if w == h:
            return img
        mean = getattr(self.processor, "image_mean", None) or [0.5, 0.5, 0.5]
        bg = tuple(int(round(255 * m)) for m in mean)
        side = max(w, h)
        canvas = Image.new("RGB", (side, side), bg)
        canvas.paste(img, ((side - w) // 2, (side - h) // 2))
        return canvas

    def __call__(self, images: list) -> torch.Tensor:
        if self.pad_to_square:
            images = [self._square(im) for im in images]
        return self.processor(images=images, return_tensors="pt")["pixel_values"]
