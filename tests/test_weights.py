"""Importing trained weights: numpy and PyTorch conventions, shape checks, the CLI."""


import numpy as np
import pytest
from typer.testing import CliRunner

from cosim.cli.app import app
from cosim.nn.config import config_from_dict
from cosim.nn.mlp import MLP, accuracy, train_float
from cosim.nn.training import load_dataset, run_training
from cosim.nn.weights import load_weights, save_weights
from device_models.validation import ParamError

SIZES = (64, 24, 10)


@pytest.fixture(scope="module")
def trained():
    cfg = config_from_dict({"model": {"sizes": list(SIZES)}})
    ds = load_dataset(cfg)
    rng = np.random.default_rng(0)
    model = MLP.init(SIZES, rng)
    train_float(model, ds.x_train, ds.y_train, 15, rng, 0.05, 32)
    return model, ds


def test_numpy_and_torch_conventions_load_the_same_network(trained, tmp_path):
    """w0/b0 (in, out) as saved here, and a state_dict saved with numpy (<name>.weight
    (out, in)): the same weights, the same predictions."""
    model, ds = trained
    own = load_weights(save_weights(model, tmp_path / "own.npz"), SIZES)
    sd = {"0.weight": model.weights[0].T, "0.bias": model.biases[0],
          "2.weight": model.weights[1].T, "2.bias": model.biases[1]}
    np.savez(tmp_path / "sd.npz", **sd)
    ported = load_weights(tmp_path / "sd.npz", SIZES)
    for a in (own, ported):
        for w, w0 in zip(a.weights, model.weights, strict=True):
            np.testing.assert_array_equal(w, w0)
        np.testing.assert_array_equal(a.predict(ds.x_test), model.predict(ds.x_test))


def test_torch_state_dict_file(trained, tmp_path):
    torch = pytest.importorskip("torch")
    model, _ = trained
    net = torch.nn.Sequential(torch.nn.Linear(64, 24), torch.nn.ReLU(), torch.nn.Linear(24, 10))
    with torch.no_grad():
        for lin, w, b in zip((net[0], net[2]), model.weights, model.biases, strict=True):
            lin.weight.copy_(torch.tensor(w.T))
            lin.bias.copy_(torch.tensor(b))
    torch.save(net.state_dict(), tmp_path / "net.pt")
    got = load_weights(tmp_path / "net.pt", SIZES)
    np.testing.assert_allclose(got.weights[1], model.weights[1], rtol=1e-6)


def test_imported_weights_are_deployed_without_training(trained, tmp_path):
    """mode = deploy with model.weights: no float epochs run, the imported network's
    float accuracy is reported and it is evaluated on the arrays."""
    model, ds = trained
    path = save_weights(model, tmp_path / "w.npz")
    cfg = config_from_dict({"model": {"sizes": list(SIZES), "weights": str(path)},
                            "data": {"limit_test": 120}})
    out = run_training(cfg)
    assert out["epochs"] == []
    s = out["summary"]
    assert s["float_test_acc"] == pytest.approx(accuracy(model, ds.x_test[:120],
                                                         ds.y_test[:120]))
    assert s["hardware_test_acc"] > s["float_test_acc"] - 0.1 and s["weights"] == str(path)


@pytest.mark.parametrize(("arrays", "needle"), [
    ({"w0": np.zeros((64, 24))}, "must match model.sizes"),
    ({"w0": np.zeros((64, 24)), "w1": np.zeros((24, 10)), "b1": np.zeros(3)}, "bias"),
    ({"w0": np.full((64, 24), np.nan), "w1": np.zeros((24, 10))}, "non-finite"),
    ({"conv.weight": np.zeros((4, 1, 3, 3))}, "only nn.Linear"),
    ({"gamma": np.zeros(3)}, "neither w0"),
])
def test_bad_weight_files_are_refused_by_name(tmp_path, arrays, needle):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ParamError, match=r"model\.weights") as e:
        load_weights(tmp_path / "bad.npz", SIZES)
    assert needle in str(e.value)


def test_cli_refuses_a_missing_weights_file_with_exit_2(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[model]\nsizes = [64, 24, 10]\nweights = "nowhere.npz"\n')
    res = CliRunner().invoke(app, ["train", str(cfg), "--results", str(tmp_path / "r")])
    assert res.exit_code == 2 and "model.weights" in res.output
    assert "Traceback" not in res.output
