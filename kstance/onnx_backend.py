"""An optional faster backend: ONNX Runtime with int8 weights quantized per channel.

Per-tensor int8 distorts this encoder (embeddings drift to cosine 0.92 of fp32); per-channel keeps
about 0.99. Even per channel, quantizing the feed-forward layers moved 1.7% of the default model's
stance labels on the corpus test split (their activations have outliers that one uint8 scale per
tensor cannot hold), so only the attention projections are quantized: the feed-forward layers and
the heads stay fp32 (measured: 99.2% stance and 99.6% target labels equal to fp32). The quantized model is built on first use and cached beside the model directory
(``MODEL_DIR/onnx-int8/``, or ``~/.cache/kstance/`` when the model directory is read-only), keyed by
the hash of the weights it came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from kstance.model import WEIGHTS_FILE, ModelDirError


def _weights_hash(model_dir: Path) -> str:
    h = hashlib.sha256()
    with open(model_dir / WEIGHTS_FILE, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _cache_dir(model_dir: Path, key: str) -> Path:
    beside = model_dir / "onnx-int8"
    try:
        beside.mkdir(exist_ok=True)
        probe = beside / ".write-test"
        probe.write_text("")
        probe.unlink()
        return beside
    except OSError:
        home = Path(os.environ.get("KSTANCE_CACHE", Path.home() / ".cache" / "kstance")) / key
        home.mkdir(parents=True, exist_ok=True)
        return home


def export_onnx(model, path: Path, opset: int = 17) -> None:
    """Export the fp32 model to ONNX with dynamic batch and sequence axes."""
    import warnings

    import torch

    model.eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 10:] = 0  # trace with padding, so the mask path is the one exported
    types = torch.zeros((2, 16), dtype=torch.long)
    dyn = {0: "batch", 1: "seq"}
    with warnings.catch_warnings():
        # tracer notes about Python-side shape checks: the exported graph is checked against fp32
        # by benchmarks/score_throughput.py and tests/test_scoring.py instead
        warnings.simplefilter("ignore")
        _export(torch, model, ids, mask, types, path, dyn, opset)


def _export(torch, model, ids, mask, types, path, dyn, opset):
    torch.onnx.export(
        model, (ids, mask, types), str(path),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["stance_logits", "target_logits"],
        dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn,
                      "stance_logits": {0: "batch"}, "target_logits": {0: "batch"}},
        opset_version=opset, dynamo=False,
    )


def quantize_per_channel(src: Path, dst: Path) -> None:
    """Dynamic int8 quantization of the attention projections, one weight scale per output channel.

    The feed-forward layers (``intermediate``, ``output/dense``) and both heads are left in fp32:
    quantizing them changed labels (see the module docstring).
    """
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src)).graph
    keep_fp32 = [n.name for n in graph.node if n.op_type in ("MatMul", "Gemm") and (
        "_head" in n.name or "intermediate" in n.name or ("/output/dense" in n.name and "attention" not in n.name))]
    logging.getLogger().setLevel(logging.ERROR)  # silence the "consider pre-processing" note
    quantize_dynamic(str(src), str(dst), per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Gemm"], nodes_to_exclude=keep_fp32)


def build_int8(model, model_dir: Path) -> Path:
    """Build (or find) the cached int8 ONNX file for a model directory; return its path."""
    key = _weights_hash(model_dir)
    cache = _cache_dir(model_dir, key)
    target = cache / f"model-{key}.attn-int8.onnx"  # the name changes with the quantization recipe
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        fp32 = Path(tmp) / "model.onnx"
        export_onnx(model, fp32)
        part = Path(tmp) / "model.int8.onnx"
        quantize_per_channel(fp32, part)
        os.replace(part, target)  # atomic: a half-built file is never picked up
    (cache / "source.json").write_text(json.dumps({"weights_sha256_16": key}))
    return target


def onnx_session(model, tokenizer, settings, model_dir: Path, threads: int | None = None):
    """An ONNX Runtime session of the int8 model (built on first use).

    Raises:
        ModelDirError: when onnxruntime is not installed (it is the `kstance[onnx]` extra).
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelDirError("the onnx backend needs onnxruntime: pip install 'kstance[onnx]'") from None
    path = build_int8(model, Path(model_dir))
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
