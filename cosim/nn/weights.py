"""Import a trained network's weights (no retraining inside the tool, no torch needed).

A ``.npz`` file holds the layers in order, in either convention:

- ``w0, b0, w1, b1, ...`` (or ``W0``...): (in, out) matrices, the numpy MLP's own;
- a PyTorch ``state_dict`` saved with numpy (``np.savez(f, **{k: v.numpy() for k, v
  in model.state_dict().items()})``): ``<name>.weight`` (out, in) and
  ``<name>.bias`` of each ``nn.Linear``, in the file's order.

A ``.pt`` / ``.pth`` state_dict is read with torch when the ``cosim[torch]`` extra is
installed. Shapes must chain and match ``model.sizes``; biases are optional.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np

from cosim.nn.mlp import MLP
from device_models.validation import ParamError

FIELD = "model.weights"
SUFFIXES = (".npz", ".pt", ".pth")


def _arrays(path: Path) -> dict[str, np.ndarray]:
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: np.asarray(f[k], dtype=float) for k in f.files}
        except (OSError, ValueError) as e:
            raise ParamError(FIELD, str(path), f"is not a readable .npz file ({e})") from None
    try:
        import torch
    except ImportError:
        raise ParamError(FIELD, str(path), "a .pt/.pth state_dict needs torch (pip install "
                         "'cosim[torch]'), or save it as .npz: np.savez(f, **{k: v.numpy() "
                         "for k, v in model.state_dict().items()})") from None
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a bad file
        raise ParamError(FIELD, str(path), f"is not a readable state_dict ({e})") from None
    if not isinstance(sd, dict):
        raise ParamError(FIELD, str(path), "must hold a state_dict (a dict of tensors)")
    return {k: v.detach().double().numpy() for k, v in sd.items()}


def _layers(arrays: dict[str, np.ndarray], path: Path
            ) -> list[tuple[np.ndarray, np.ndarray | None]]:
    own = {k.lower(): v for k, v in arrays.items() if re.fullmatch(r"[wWbB]\d+", k)}
    if own:
        n = max(int(k[1:]) for k in own if k[0] == "w") + 1
        out = []
        for i in range(n):
            if f"w{i}" not in own:
                raise ParamError(FIELD, str(path), f"has no w{i} (layers must be w0..w{n - 1})")
            out.append((own[f"w{i}"], own.get(f"b{i}")))
        return out
    torch_style = [k for k in arrays if k.endswith(".weight")]
    if not torch_style:
        raise ParamError(FIELD, str(path), "holds neither w0, b0, ... nor <layer>.weight "
                         f"arrays (found: {', '.join(list(arrays)[:8]) or 'nothing'})")
    out = []
    for k in torch_style:
        w = arrays[k]
        if w.ndim != 2:
            raise ParamError(FIELD, str(path), f"{k} has shape {w.shape}: only nn.Linear "
                             "layers map onto the numpy MLP (use cosim.nn.analog_torch "
                             "for convolutions)")
        out.append((w.T, arrays.get(k[:-len(".weight")] + ".bias")))
    return out


def load_weights(path: str | Path, sizes: tuple[int, ...]) -> MLP:
    """The MLP stored in ``path``, checked against the configured layer widths."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise ParamError(FIELD, str(path), f"must end in {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise ParamError(FIELD, str(path), "file not found")
    layers = _layers(_arrays(path), path)
    shapes = [tuple(w.shape) for w, _ in layers]
    want = list(itertools.pairwise(sizes))
    if shapes != want:
        raise ParamError(FIELD, str(path), f"layer shapes (in, out) {shapes} must match "
                         f"model.sizes {list(sizes)}: {want}")
    weights, biases = [], []
    for i, (w, b) in enumerate(layers):
        if not np.all(np.isfinite(w)) or (b is not None and not np.all(np.isfinite(b))):
            raise ParamError(FIELD, str(path), f"layer {i} holds non-finite values")
        if b is not None and b.shape != (w.shape[1],):
            raise ParamError(FIELD, str(path), f"layer {i}'s bias has shape {b.shape}, "
                             f"needs ({w.shape[1]},)")
        weights.append(np.array(w, dtype=float))
        biases.append(np.zeros(w.shape[1]) if b is None else np.array(b, dtype=float))
    return MLP(weights, biases)


def save_weights(model: MLP, path: str | Path) -> Path:
    """Write ``model`` as w0, b0, w1, b1, ... (the format ``load_weights`` reads)."""
    path = Path(path)
    arrays = {}
    for i, (w, b) in enumerate(zip(model.weights, model.biases, strict=True)):
        arrays[f"w{i}"] = model.effective(i) if model.masks else w
        arrays[f"b{i}"] = b
    np.savez(path, **arrays)
    return path
