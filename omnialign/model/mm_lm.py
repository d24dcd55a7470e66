"""``MultimodalLM``: a causal LM whose input has media spans spliced in (DESIGN.md "Media markers").

Text carries one marker token per media item (``<image>``, ``<video>``, ``<audio>``). The model
runs the modality's encoder (unless cached features are given) and connector, and replaces each
marker with that item's span of embeddings (label -100 over the span). Counts must match or the
batch fails with an error naming the sample. Works with fixed-size (MLP, Q-Former) and variable
(CIF) spans; right padding for training, left padding for generation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from omnialign.errors import DataError
from omnialign.model.connectors.base import Connector
from omnialign.tokenize.masking import IGNORE_INDEX

MARKERS = {"image": "<image>", "video": "<video>", "audio": "<audio>"}


@dataclass
class MediaInput:
    """Items of one modality for a batch, in order of appearance within each sample.

    Give the encoder inputs or ``features`` ``[n, N, D_enc]`` (cached / precomputed; video
    ``[n, T, N, D_enc]``) with an optional ``feature_mask`` (True = valid); ``owners[i]`` is the batch
    row of item i. Encoder inputs per modality: image ``pixel_values [n, 3, H, W]``; video
    ``pixel_values [n, T, 3, H, W]`` + ``feature_mask [n, T]`` (valid frames); audio
    ``input_features [n, n_mels, 2W]`` (log-mel) + ``feature_mask [n, W]`` (encoder frames of real audio)."""

    owners: torch.Tensor
    pixel_values: torch.Tensor | None = None
    input_features: torch.Tensor | None = None
    features: torch.Tensor | None = None
    feature_mask: torch.Tensor | None = None
    extra: dict = field(default_factory=dict)  # connector kwargs (e.g. target_lengths for CIF)


@dataclass
class SplicedInputs:
    inputs_embeds: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    labels: torch.Tensor | None
    aux_loss: torch.Tensor | None


@dataclass
class MMOutput:
    loss: torch.Tensor | None  # mean over supervised tokens (+ aux)
    loss_sum: torch.Tensor | None  # sum of token losses (for exact global normalisation)
    n_tokens: int
    logits: torch.Tensor | None
    aux_loss: torch.Tensor | None = None


class MultimodalLM(nn.Module):
    def __init__(self, llm: nn.Module, tokenizer, encoders: dict[str, nn.Module] | None = None, connectors: dict[str, Connector] | None = None, preprocessors: dict | None = None, template: str = "vicuna_v1", system: str | None = None, media_tags: dict[str, tuple[str, str]] | None = None, heads: dict[str, nn.Module] | None = None):
        super().__init__()
        self.heads = nn.ModuleDict(heads or {})  # auxiliary training heads (e.g. "asr" for X-LLM stage 1)
        # text around each media span, e.g. {"image": ("<Image>", "</Image>")} (PROTOCOLS §7)
        self.media_tags = {m: (o, c) for m, (o, c) in (media_tags or {}).items() if o or c}
        self._tag_ids = {m: tuple(tokenizer(t, add_special_tokens=False)["input_ids"] if t else [] for t in oc) for m, oc in self.media_tags.items()}
        self.llm = llm
        self.tokenizer = tokenizer
        self.encoders = nn.ModuleDict(encoders or {})
        self.connectors = nn.ModuleDict(connectors or {})
        self.preprocessors = preprocessors or {}
        self.template = template
        self.system = system
        self.media_token_ids = {m: tokenizer.convert_tokens_to_ids(t) for m, t in MARKERS.items() if t in tokenizer.get_vocab()}
        self.spec: dict = {}  # the model section of the recipe + references; set by the builder

    # ------------------------------------------------------------------ helpers
    @property
    def device(self) -> torch.device:
        return next(self.llm.parameters()).device

    def input_embeddings(self) -> nn.Module:
        return self.llm.get_input_embeddings()

    def media_features(self, modality: str, media: MediaInput) -> tuple[torch.Tensor, torch.Tensor | None]:
        if media.features is not None:
            return media.features, media.feature_mask
        if modality == "video":  # the image encoder per frame
            if "image" not in self.encoders:
                raise DataError("no image encoder configured for this model (video frames need it)", field=modality)
            from omnialign.model.encoders.media import encode_frames

            return encode_frames(self.encoders["image"], media.pixel_values, media.feature_mask), media.feature_mask
        if modality not in self.encoders:
            raise DataError(f"no {modality} encoder configured for this model", field=modality)
        if modality == "audio":
            feats, mask = self.encoders["audio"](media.input_features), media.feature_mask
            if mask is None:
                return feats, None
            t = max(1, int(mask.sum(-1).max()))
            return feats[:, :t], mask[:, :t].to(feats.device)
        return self.encoders[modality](media.pixel_values), None

    def _tag_span(self, modality: str, span: torch.Tensor) -> torch.Tensor:
        ids = self._tag_ids.get(modality)
        if not ids:
            return span
        embed = self.input_embeddings()
        dev = embed.weight.device
        parts = [embed(torch.tensor(ids[0], dtype=torch.long, device=dev)).to(span.dtype), span,
                 embed(torch.tensor(ids[1], dtype=torch.long, device=dev)).to(span.dtype)]
        return torch.cat(parts, 0)

    # ------------------------------------------------------------------ splice
    def splice(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, labels: torch.Tensor | None = None, media: dict[str, MediaInput] | None = None, sample_ids: list[str] | None = None, padding_side: str = "right") -> SplicedInputs:
        B = input_ids.shape[0]
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        media = media or {}
        sid = (lambda b: sample_ids[b]) if sample_ids else (lambda b: f"batch row {b}")
        embed = self.input_embeddings()
        tok_embeds = embed(input_ids)
        marker_of = {tid: m for m, tid in self.media_token_ids.items()}
        is_marker = torch.zeros_like(input_ids, dtype=torch.bool)
        for tid in marker_of:
            is_marker |= input_ids == tid
        prompt_mask = attention_mask.bool() & ~is_marker
        if labels is not None:
            prompt_mask &= labels == IGNORE_INDEX

        # connector outputs per modality, then per sample in order
        spans: dict[str, list[list[torch.Tensor]]] = {m: [[] for _ in range(B)] for m in MARKERS}
        aux = None
        for modality, item in media.items():
            if modality not in self.connectors:
                raise DataError(f"batch has {modality} items but the model has no {modality} connector", field=modality)
            feats, fmask = self.media_features(modality, item)
            conn = self.connectors[modality]
            kwargs = dict(item.extra)
            if conn.needs_text:
                owners = item.owners.to(tok_embeds.device)
                kwargs.update(text_embeds=tok_embeds[owners], text_mask=prompt_mask[owners])
            if feats.dim() == 4 and not getattr(conn, "frame_input", False):  # video into a flat connector
                n, t, k, d = feats.shape
                fmask = None if fmask is None else fmask.to(feats.device).bool()[:, :, None].expand(n, t, k).reshape(n, t * k)
                feats = feats.reshape(n, t * k, d)
            out = conn(feats, fmask, **kwargs)
            if out.aux_loss is not None:
                aux = out.aux_loss if aux is None else aux + out.aux_loss
            for j, owner in enumerate(item.owners.tolist()):
                spans[modality][owner].append(self._tag_span(modality, out.embeds[j, : int(out.lengths[j])]))

        marker_ids = torch.tensor(list(marker_of), device=input_ids.device, dtype=input_ids.dtype)
        seqs, labs = [], []
        for b in range(B):
            valid = attention_mask[b].bool()
            ids_b = input_ids[b][valid]
            emb_b = tok_embeds[b][valid]
            lab_b = labels[b][valid] if labels is not None else None
            positions = torch.nonzero(torch.isin(ids_b, marker_ids)).flatten().tolist() if marker_of else []
            pos = [(p, marker_of[int(ids_b[p])]) for p in positions]
            for m in MARKERS:
                n_mark = sum(1 for _, mm in pos if mm == m)
                if n_mark != len(spans[m][b]):
                    raise DataError(f"{m} features and {m} tokens do not match: {n_mark} {MARKERS[m]} marker(s) but {len(spans[m][b])} {m} item(s)", sample_id=sid(b), field=m)
            pieces, lpieces, used = [], [], {m: 0 for m in MARKERS}
            start = 0
            for p, m in pos:
                pieces.append(emb_b[start:p])
                span = spans[m][b][used[m]].to(emb_b.dtype)
                used[m] += 1
                pieces.append(span)
                if lab_b is not None:
                    lpieces.append(lab_b[start:p])
                    lpieces.append(torch.full((span.shape[0],), IGNORE_INDEX, dtype=lab_b.dtype, device=lab_b.device))
                start = p + 1
            pieces.append(emb_b[start:])
            seqs.append(torch.cat(pieces, 0))
            if lab_b is not None:
                lpieces.append(lab_b[start:])
                labs.append(torch.cat(lpieces, 0))

        L = max(s.shape[0] for s in seqs)
        D = tok_embeds.shape[-1]
        out_emb = tok_embeds.new_zeros(B, L, D)
        out_mask = attention_mask.new_zeros(B, L)
        out_lab = input_ids.new_full((B, L), IGNORE_INDEX) if labels is not None else None
        for b, s in enumerate(seqs):
            n = s.shape[0]
            sl = slice(0, n) if padding_side == "right" else slice(L - n, L)
            out_emb[b, sl] = s
            out_mask[b, sl] = 1
            if out_lab is not None:
                out_lab[b, sl] = labs[b]
        position_ids = (out_mask.long().cumsum(-1) - 1).clamp_min(0)
        return SplicedInputs(out_emb, out_mask, position_ids, out_lab, aux)

    # ------------------------------------------------------------------ training forward
    def _sparse_logits_ok(self) -> bool:
        """Logits can be computed from the decoder's hidden states at chosen positions only (no
        soft-capping or scaling after the LM head)."""
        c = getattr(self.llm, "config", None)
        return (
            c is not None
            and hasattr(self.llm, "get_decoder")
            and not getattr(c, "final_logit_softcapping", None)
            and getattr(c, "logit_scale", None) in (None, 1.0)
            and not hasattr(self.llm, "peft_config")
        )

    def forward(self, input_ids, attention_mask=None, labels=None, media=None, sample_ids=None, return_logits: bool = True) -> MMOutput:
        """With ``labels``: loss over supervised tokens. ``return_logits=False`` (training) runs the LM
        head only at supervised positions, which saves most of the head's cost for large vocabularies."""
        sp = self.splice(input_ids, attention_mask, labels, media, sample_ids, padding_side="right")
        full_logits = None
        if sp.labels is not None and not return_logits and self._sparse_logits_ok():
            hidden = self.llm.get_decoder()(inputs_embeds=sp.inputs_embeds, attention_mask=sp.attention_mask, position_ids=sp.position_ids, use_cache=False).last_hidden_state
            shift_labels = sp.labels[:, 1:]
            keep = shift_labels != IGNORE_INDEX
            logits = self.llm.get_output_embeddings()(hidden[:, :-1][keep]).float()
            targets = shift_labels[keep]
        else:
            out = self.llm(inputs_embeds=sp.inputs_embeds, attention_mask=sp.attention_mask, position_ids=sp.position_ids, use_cache=False)
            full_logits = out.logits
            if sp.labels is None:
                return MMOutput(None, None, 0, full_logits, sp.aux_loss)
            shift_labels = sp.labels[:, 1:]
            keep = shift_labels != IGNORE_INDEX
            logits = full_logits[:, :-1][keep].float()
            targets = shift_labels[keep]
        loss_sum = F.cross_entropy(logits, targets, reduction="sum")
        n = int(targets.numel())
        loss = loss_sum / max(n, 1)
        if sp.aux_loss is not None:
            loss = loss + sp.aux_loss
        return MMOutput(loss, loss_sum, n, full_logits if return_logits else None, sp.aux_loss)

    # ------------------------------------------------------------------ generation
    def prepare_media(self, images_per_sample: list[list] | None, videos: list[list] | None = None, audios: list[list] | None = None) -> dict[str, MediaInput]:
        """PIL images (one list per sample) → MediaInput with pixel values; ``videos``: per sample a
        list of clips (each a list of PIL frames); ``audios``: per sample a list of 16 kHz waveforms."""
        media = {}
        for modality, per_sample in (("video", videos), ("audio", audios)):
            if not per_sample or not any(per_sample):
                continue
            flat = [x for items in per_sample for x in (items or [])]
            owners = torch.tensor([b for b, items in enumerate(per_sample) for _ in (items or [])])
            if modality not in self.preprocessors:
                raise DataError(f"this model has no {modality} encoder", field=modality)
            inputs, mask = self.preprocessors[modality](flat)
            key = "pixel_values" if modality == "video" else "input_features"
            media[modality] = MediaInput(owners=owners, feature_mask=mask.to(self.device), **{key: inputs.to(self.device)})
        if images_per_sample and any(images_per_sample):
            flat, owners = [], []
            for b, ims in enumerate(images_per_sample):
                for im in ims or []:
                    flat.append(im)
                    owners.append(b)
            pix = self.preprocessors["image"](flat).to(self.device)
            media["image"] = MediaInput(owners=torch.tensor(owners), pixel_values=pix.to(next(self.encoders["image"].parameters()).dtype))
        return media

    @torch.no_grad()
    def generate_ids(self, prompt_ids: list[list[int]], images: list[list] | None = None, *, videos: list[list] | None = None, audios: list[list] | None = None, max_new_tokens: int = 64, do_sample: bool = False, temperature: float = 1.0, top_p: float = 1.0, stop_ids: list[int] | None = None) -> list[list[int]]:
        """Generate from token-id prompts (with media markers); left padding + KV cache."""
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        L = max(len(p) for p in prompt_ids)
        ids = torch.full((len(prompt_ids), L), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for b, p in enumerate(prompt_ids):
            ids[b, L - len(p):] = torch.tensor(p)
            mask[b, L - len(p):] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        sp = self.splice(ids, mask, None, self.prepare_media(images, videos, audios), padding_side="left")
        gen_kwargs = dict(max_new_tokens=max_new_tokens, do_sample=do_sample, pad_token_id=pad, eos_token_id=stop_ids or self.tokenizer.eos_token_id, use_cache=True)
        if do_sample:
            gen_kwargs.update(temperature=temperature, top_p=top_p)
        else:
            gen_kwargs.update(temperature=None, top_p=None, top_k=None)
        out = self.llm.generate(inputs_embeds=sp.inputs_embeds, attention_mask=sp.attention_mask, **gen_kwargs)
        stops = set(stop_ids or [])
        results = []
        for row in out.tolist():
            toks = []
            for t in row:
                if t in stops:
                    break
                toks.append(t)
            while toks and toks[-1] == pad and pad not in stops:
                toks.pop()
            results.append(toks)
        return results

    @torch.no_grad()
    def answer(self, conversations: list[list[dict]], images: list[list] | None = None, *, videos: list[list] | None = None, audios: list[list] | None = None, max_new_tokens: int = 64, batch_size: int = 8, do_sample: bool = False, temperature: float = 1.0, top_p: float = 1.0, template: str | None = None, **_ignored) -> list[str]:
        """Answer each conversation (ending with a user turn). ``images[i]`` holds the PIL images of
        conversation i, one per ``<image>`` marker; ``videos[i]`` (clips as PIL frame lists) and
        ``audios[i]`` (16 kHz waveforms) likewise for ``<video>`` / ``<audio>``."""
        from omnialign.tokenize.masking import encode_prompt, stop_token_ids
        from omnialign.tokenize.templates import get_template

        tmpl = get_template(template or self.template, self.tokenizer, self.system)
        stops = stop_token_ids(self.tokenizer, tmpl)
        images = images or [[] for _ in conversations]
        answers: list[str] = []
        was_training = self.training
        self.eval()
        try:
            for i in range(0, len(conversations), batch_size):
                prompts = [encode_prompt(self.tokenizer, c, tmpl) for c in conversations[i : i + batch_size]]
                sl = slice(i, i + batch_size)
                gen = self.generate_ids(prompts, images[sl], videos=videos[sl] if videos else None, audios=audios[sl] if audios else None, max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature, top_p=top_p, stop_ids=stops)
                answers.extend(self.tokenizer.decode(g, skip_special_tokens=True).strip() for g in gen)
        finally:
            self.train(was_training)
        return answers
