"""Statistics over runs: [train] seeds = N and k-fold cross-validation (folds = K)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from cosim.cli.app import app
from cosim.nn.commands import seed_config, seed_statistics
from cosim.nn.config import config_from_dict
from cosim.nn.datasets import kfold, load_digits_dataset
from device_models.validation import ParamError


def test_kfold_tests_every_image_once_and_keeps_classes_balanced():
    ds = load_digits_dataset(0)
    folds = [kfold(ds, i, 10, seed=3) for i in range(10)]
    n = len(ds.y_train) + len(ds.y_test)
    assert sum(len(f.y_test) for f in folds) == n
    assert all(len(f.y_train) + len(f.y_test) == n for f in folds)
    tested = np.concatenate([f.x_test for f in folds])
    assert len(np.unique(tested, axis=0)) == len(np.unique(
        np.concatenate([ds.x_train, ds.x_test]), axis=0))
    for f in folds:  # stratified: each class's share within 1 image of the pool's
        counts = np.bincount(f.y_test, minlength=10)
        assert counts.max() - counts.min() <= 3


def test_each_seed_varies_split_and_initialisation():
    cfg = config_from_dict({"train": {"seed": 4, "seeds": 3}})
    c2 = seed_config(cfg, 2)
    assert (c2.train.seed, c2.data.seed) == (6, cfg.data.seed + 2)


def test_seed_statistics_mean_and_sample_std():
    runs = [{"acc": 0.9, "curve": [{"s": 0.5, "a": 0.8}]},
            {"acc": 0.7, "curve": [{"s": 0.5, "a": 0.6}]}]
    st = seed_statistics(runs)
    assert st["mean"]["acc"] == pytest.approx(0.8)
    assert st["std"]["acc"] == pytest.approx(np.std([0.9, 0.7], ddof=1))
    assert st["mean"]["curve"][0]["a"] == pytest.approx(0.7)
    assert st["runs"] == 2 and st["over"] == "seeds"


@pytest.mark.parametrize(("train", "needle"), [
    ({"folds": 5, "mode": "deploy"}, r"train\.folds=5"),
    ({"folds": 5, "seeds": 2, "mode": "prune"}, "folds or seeds"),
    ({"seeds": 0}, r"train\.seeds=0"),
])
def test_bad_run_counts(train, needle):
    with pytest.raises(ParamError, match=needle):
        config_from_dict({"train": train})


def test_train_with_seeds_reports_mean_and_std(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\nlimit_train = 200\nlimit_test = 100\n'
                   '[train]\nmode = "deploy"\nepochs = 3\nseeds = 2\n')
    res = CliRunner().invoke(app, ["train", str(cfg), "--results", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert "seeds: 2 (mean +- std)" in res.output
    (run_dir,) = list((tmp_path / "r").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    accs = [r["hardware_test_acc"] for r in summary["per_run"]]
    assert len(set(accs)) == 2  # different seeds, different draws
    assert summary["mean"]["hardware_test_acc"] == pytest.approx(np.mean(accs))
