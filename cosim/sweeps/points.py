"""What one sweep point runs, by kind. Each returns plain metrics (floats) and
optional artifacts (numpy arrays saved beside the point)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from cosim.array.mapping import fit_mapping, interleave, weights_to_pairs
from cosim.array.state import ArrayConfig, ArrayState
from cosim.engines import get_engine, supports
from cosim.studies.compare import CompareSpec, run_compare
from device_models.validation import ParamError, check_choice, check_int, check_range
from periphery.converters import AdcParams, DacParams


def _compare_spec(params: dict[str, Any]) -> CompareSpec:
    p = {k: v for k, v in params.items()}
    if "engines" in p:
        p["engines"] = tuple(p["engines"])
    return CompareSpec(**p)


def _accuracy_config(params: dict[str, Any]):
    from cosim.nn.config import config_from_dict

    raw: dict[str, dict] = {"train": {"seed": params["seed"]}}
    for key, value in params.items():
        if key == "seed":
            continue
        section, _, name = key.partition(".")
        raw.setdefault(section, {})[name] = value
    return config_from_dict(raw)


VARIATION_DEFAULTS: dict[str, Any] = {
    "rows": 32, "cols": 16, "vectors": 100, "cell": "fefet", "engine": "behavioral",
    "d2d_sigma_v": 0.03, "write_variation": True, "age_s": 0.0, "adc_bits": 8, "dac_bits": 8,
    "dac_v_fs_v": 0.2, "network": True}
"""A variation point's parameters and defaults (their types are what a spec may set)."""


def _variation_params(params: dict[str, Any]) -> dict[str, Any]:
    p = {**VARIATION_DEFAULTS, **params}
    check_int("rows", p["rows"], 1, 4096)
    check_int("cols", p["cols"], 1, 4096)
    check_int("vectors", p["vectors"], 1, 10**6)
    check_choice("cell", p["cell"], ("fefet", "sparse_fefet"))
    check_choice("engine", p["engine"], ("behavioral", "nodal", "spice"))
    check_range("d2d_sigma_v", p["d2d_sigma_v"], 0.0, 1.0)
    check_range("age_s", p["age_s"], 0.0)
    check_int("seed", p["seed"], 0)
    DacParams(p["dac_bits"], p["dac_v_fs_v"])
    AdcParams(p["adc_bits"])
    return p


def validate_point(kind: str, params: dict[str, Any]) -> None:
    """Raise ParamError if a point's parameters are invalid (nothing runs)."""
    if kind == "compare":
        _compare_spec(params)
    elif kind == "accuracy":
        _accuracy_config(params)
    elif kind == "variation":
        _variation_params(params)
    else:
        raise ParamError("kind", kind, "must be compare, variation or accuracy")


def run_point(kind: str, params: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Run one point; return {"metrics": {...}, "artifacts": {name: array}}."""
    if kind == "compare":
        spec = _compare_spec(params)
        metrics, ref, cand = run_compare(spec, timeout_s)
        a, b = spec.engines
        out = {k: metrics[k] for k in ("max_abs_err_A", "max_rel_err", "max_err_lsb",
                                       "adc_code_mismatch_frac", "max_code_diff")}
        out["seconds_reference"] = metrics[f"seconds_{a}"]
        out["seconds_candidate"] = metrics[f"seconds_{b}"]
        sample = slice(0, 2000)  # outputs kept for scatter plots
        return {"metrics": out, "artifacts": {"reference_a": ref.i_out_a.ravel()[sample],
                                              "candidate_a": cand.i_out_a.ravel()[sample]}}
    if kind == "accuracy":
        return {"metrics": _accuracy(params), "artifacts": {}}
    return _variation(params, timeout_s)


def _accuracy(params: dict[str, Any]) -> dict[str, float]:
    from cosim.nn.mlp import MLP, accuracy, train_float
    from cosim.nn.training import array_matmul, deploy, load_dataset

    cfg = _accuracy_config(params)
    ds = load_dataset(cfg)
    rng = np.random.default_rng(cfg.train.seed)
    model = MLP.init(cfg.model.sizes, rng)
    train_float(model, ds.x_train, ds.y_train, cfg.train.epochs, rng, cfg.train.lr,
                cfg.train.batch)
    layers = deploy(model, cfg.hardware, ds, rng)
    return {"accuracy": accuracy(model, ds.x_test, ds.y_test, array_matmul(layers, rng)),
            "float_accuracy": accuracy(model, ds.x_test, ds.y_test)}


def _variation(params: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Program random signed weights twice: nominal (no variation, read at t=0) and as
    actually written (D2D + write variation, read at age_s). Report the per-cell
    current error at the full-scale read and the ADC code error of the engine's
    outputs against the nominal array's ideal outputs."""
    from device_models.registry import CellOptions, make_cell

    p = _variation_params(params)
    rng = np.random.default_rng(p["seed"])
    cell = make_cell(p["cell"], CellOptions(v_read_v=p["dac_v_fs_v"],
                                            d2d_sigma_v=p["d2d_sigma_v"]))
    w = rng.uniform(-1, 1, (p["rows"], p["cols"]))
    g_min, g_max = cell.g_range()
    nominal = cell.program(interleave(*weights_to_pairs(w, fit_mapping(w, g_min, g_max))))
    written = cell.with_variation(nominal, rng) if p["write_variation"] else nominal
    nom_state = ArrayState(nominal, cell, differential=True)
    act_state = ArrayState(written, cell, differential=True, age_s=p["age_s"])
    i_nom = cell.current(p["dac_v_fs_v"], nominal)
    i_act = cell.current(p["dac_v_fs_v"], act_state.read_fields())
    cell_err = (i_act - i_nom) / max(float(np.abs(i_nom).max()), 1e-30)  # of the largest cell
    dac = DacParams(p["dac_bits"], p["dac_v_fs_v"])
    x = rng.uniform(0, 1, (p["vectors"], p["rows"]))
    big = AdcParams(24, 1.0)
    ref = get_engine("ideal").run(nom_state, x, ArrayConfig(dac, big)).i_out_a
    adc = AdcParams(p["adc_bits"], float(max(np.abs(ref).max(), 1e-15)), signed=True)
    config = ArrayConfig(dac, adc)
    t0 = time.perf_counter()
    engine = get_engine(p["engine"], noise=supports(p["engine"], "read_noise"), seed=p["seed"],
                        timeout_s=timeout_s)
    got = engine.run(act_state, x, config)
    ref_codes = get_engine("ideal").run(nom_state, x, config).adc_code
    code_err = got.adc_code - ref_codes
    metrics = {"cell_err_mean": float(cell_err.mean()), "cell_err_std": float(cell_err.std()),
               "cell_err_p99": float(np.percentile(np.abs(cell_err), 99)),
               "code_err_mean_abs": float(np.abs(code_err).mean()),
               "code_err_rms": float(np.sqrt(np.mean(code_err.astype(float) ** 2))),
               "code_err_max": float(np.abs(code_err).max()),
               "seconds_engine": time.perf_counter() - t0}
    metrics["accuracy"] = _network_accuracy(p) if p["network"] else float("nan")
    return {"metrics": metrics, "artifacts": {"cell_err": cell_err.astype(np.float32),
                                              "code_err": code_err.astype(np.int16)}}


def _network_accuracy(p: dict[str, Any]) -> float:
    """Test accuracy of the default MLP on digits deployed with this point's device
    variation and age (behavioral engine: the variation study's network view)."""
    params = {"seed": p["seed"], "hardware.cell": p["cell"], "hardware.engine": "behavioral",
              "hardware.d2d_sigma_v": p["d2d_sigma_v"], "hardware.age_s": p["age_s"],
              "hardware.adc_bits": p["adc_bits"], "hardware.dac_bits": p["dac_bits"],
              "hardware.write_variation": p["write_variation"]}
    if p["cell"] == "sparse_fefet":
        params["hardware.cell"] = "fefet"  # dense network: the mask would be all-keep
    return _accuracy(params)["accuracy"]
