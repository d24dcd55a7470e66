"""``omnialign eval asr CKPT --data FILE --out DIR``: transcribe speech with a checkpoint, score CER/WER.

``--data`` is JSON Lines / JSON of ``{"id", "wav" | "audio", "text", "lang"}`` records (the world's
``speech/transcripts.jsonl``), or LLaVA / messages samples with one ``<audio>`` item whose
assistant turn is the reference. Audio paths are relative to the file's folder (``--media-root``).
Decoders: ``head`` = the CIF ASR head of X-LLM stage 1 (one token per CIF firing); ``llm`` = the
LLM answers ``--prompt`` with the audio spliced in (greedy); ``auto`` = ``llm`` unless the
checkpoint's last trained parts are the ASR head's. Writes ``asr.json`` (with every hypothesis) and
``asr.md``; normalisers follow PROTOCOLS §3.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from omnialign.errors import DataError

DEFAULT_PROMPT = "<audio>\nTranscribe the speech."


def register(subparsers) -> None:
    p = subparsers.add_parser("asr", help="speech recognition: CER/WER of a checkpoint on transcribed audio")
    p.add_argument("checkpoint", help="omnialign checkpoint or training run directory")
    p.add_argument("--data", required=True, help="JSONL/JSON of {id, wav|audio, text, lang} or chat samples with <audio>")
    p.add_argument("--out", required=True, help="output directory for asr.json and asr.md")
    p.add_argument("--normaliser", choices=["raw", "basic", "cjk-char"], default="raw", help="text normaliser (PROTOCOLS §3; default raw = X-LLM)")
    p.add_argument("--lang", default=None, help="comma-separated languages to keep (default: all)")
    p.add_argument("--decoder", choices=["auto", "head", "llm"], default="auto")
    p.add_argument("--prompt", default=DEFAULT_PROMPT, help=f"user turn for --decoder llm (default {DEFAULT_PROMPT!r})")
    p.add_argument("--media-root", default=None, help="folder audio paths are relative to (default: the data file's)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--limit", type=int, default=None, help="score only the first N utterances")
    p.set_defaults(func=run)


def read_asr_records(path: str | Path, media_root: str | None = None) -> list[dict]:
    """→ ``[{"id", "path", "text", "lang"}]`` with absolute audio paths; errors name file and sample."""
    from omnialign.data.formats import read_json_records, record_to_sample
    from omnialign.data.media import resolve_path

    path = Path(path)
    root = str(media_root if media_root is not None else path.parent)
    out = []
    for n, rec in enumerate(read_json_records(path)):
        if isinstance(rec, dict) and ("conversations" in rec or "messages" in rec):
            from omnialign.train.asr_stage import transcript_of

            s = record_to_sample(rec, n, file=str(path), media_root=root)
            if s.media_count("audio") != 1:
                raise DataError(f"needs exactly one audio item, got {s.media_count('audio')}", file=str(path), sample_id=s.id, field="audio")
            ref, text, lang = s.media["audio"][0], transcript_of(s), s.meta.get("lang")
            sid = s.id
        elif isinstance(rec, dict):
            sid = str(rec.get("id", n))
            ref = rec.get("wav", rec.get("audio"))
            text, lang = rec.get("text"), rec.get("lang")
            if not isinstance(ref, str):
                raise DataError("needs an audio path in 'wav' or 'audio'", file=str(path), sample_id=sid, field="wav")
            if not isinstance(text, str):
                raise DataError("needs the reference transcript in 'text'", file=str(path), sample_id=sid, field="text")
        else:
            raise DataError(f"record {n} is not an object", file=str(path), sample_id=str(n))
        out.append({"id": sid, "path": str(resolve_path(ref, root)), "text": text, "lang": lang})
    return out


def _waveforms(records: list[dict]):
    from omnialign.data.audio import load_audio_16k
    from omnialign.errors import MediaError

    waves = []
    for r in records:
        try:
            waves.append(load_audio_16k(r["path"]))
        except MediaError as e:
            raise DataError(f"audio {r['path']}: {e}", sample_id=r["id"], field="audio") from None
    return waves


def transcribe_head(model, records: list[dict], batch_size: int = 8) -> list[str]:
    """Greedy CIF-head transcription (X-LLM stage 1 speech interface)."""
    import torch

    from omnialign.model.asr_head import asr_decode
    from omnialign.model.mm_lm import MediaInput

    if "asr" not in model.heads:
        raise DataError("this checkpoint has no ASR head (model.asr_head); use --decoder llm")
    hyps = []
    model.eval()
    for i in range(0, len(records), batch_size):
        chunk = records[i : i + batch_size]
        mel, mask = model.preprocessors["audio"](_waveforms(chunk))
        media = MediaInput(owners=torch.arange(len(chunk)), input_features=mel.to(model.device), feature_mask=mask.to(model.device))
        with torch.no_grad():
            feats, fmask = model.media_features("audio", media)
        for ids in asr_decode(model.connectors["audio"], model.heads["asr"], feats, fmask):
            hyps.append(model.tokenizer.decode(ids, skip_special_tokens=True).strip())
    return hyps


def transcribe_llm(model, records: list[dict], prompt: str = DEFAULT_PROMPT, batch_size: int = 8, max_new_tokens: int = 64) -> list[str]:
    if prompt.count("<audio>") != 1:
        raise DataError("--prompt must contain exactly one <audio> marker", field="prompt")
    hyps = []
    for i in range(0, len(records), batch_size):
        chunk = records[i : i + batch_size]
        convs = [[{"role": "user", "content": prompt}] for _ in chunk]
        hyps += model.answer(convs, audios=[[w] for w in _waveforms(chunk)], max_new_tokens=max_new_tokens, batch_size=batch_size)
    return hyps


def choose_decoder(model, decoder: str) -> str:
    if decoder != "auto":
        return decoder
    trained = model.spec.get("trained", [])
    return "head" if "asr" in model.heads and trained and trained[-1] == "heads.asr" else "llm"


def run(args: argparse.Namespace) -> int:
    from omnialign.eval.asr import report_markdown, score_corpus, write_asr_report
    from omnialign.model.loading import load_model

    records = read_asr_records(args.data, args.media_root)
    if args.lang:
        keep = {x.strip() for x in args.lang.split(",") if x.strip()}
        records = [r for r in records if r["lang"] in keep]
    if args.limit:
        records = records[: args.limit]
    if not records:
        raise DataError("no utterances to score (check --lang)", file=args.data)
    model = load_model(args.checkpoint)
    decoder = choose_decoder(model, args.decoder)
    if decoder == "head":
        hyps = transcribe_head(model, records, args.batch_size)
    else:
        hyps = transcribe_llm(model, records, args.prompt, args.batch_size, args.max_new_tokens)
    langs = [r["lang"] or "unknown" for r in records]
    report = score_corpus([r["text"] for r in records], hyps, args.normaliser, ids=[r["id"] for r in records], languages=langs, file=args.data)
    json_path, md_path = write_asr_report(report, args.out)
    print(report_markdown(report, f"ASR evaluation ({decoder} decoder)"))
    print(f"wrote {json_path} and {md_path}")
    return 0
