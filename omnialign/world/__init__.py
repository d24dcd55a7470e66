"""The procedural multilingual multimodal world (issue 3 §1): ``omnialign world build``.

Entry point: :func:`omnialign.world.build.build_world`. Modules: ``spec`` (vocabulary), ``scene``
(sampling), ``render`` (PIL), ``video`` (PyAV), ``speech`` (espeak-ng), ``lang`` (templates per
language), ``questions`` (language-independent queries), ``qa`` (LLaVA items), ``bench`` (TSVs).
"""
