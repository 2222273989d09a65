"""Every CLI error path exits 2 naming the field; happy paths produce what they promise."""

import json
import subprocess

import pytest
from typer.testing import CliRunner

from cosim.cli.app import app

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["compare", "--rows", "0"], "rows=0"),
        (["compare", "--cols", "-3"], "cols=-3"),
        (["compare", "--vectors", "0"], "vectors=0"),
        (["compare", "--seed", "-1"], "seed=-1"),
        (["compare", "--r-wire", "-1"], "r_wire_ohm=-1"),
        (["compare", "--dac-bits", "0"], "dac.bits=0"),
        (["compare", "--adc-bits", "40"], "adc.bits=40"),
        (["compare", "--engines", "ideal"], "engines='ideal'"),
        (["compare", "--engines", "ideal,ideal"], "must name two different"),
        (["compare", "--engines", "ideal,magic"], "engines='magic'"),
        (["netlist", "--analysis", "ac"], "analysis='ac'"),
        (["netlist", "--analysis", "op", "--vectors", "3"], "vectors=3"),
        (["netlist", "--rows", "0"], "rows=0"),
        (["netlist", "--differential", "--r-wire", "nan"], "r_wire_ohm=nan"),
    ],
)
def test_bad_arguments_exit_2_with_field(args, needle):
    res = _run(*args)
    assert res.exit_code == 2, res.output
    assert needle in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("args", [["compare", "--rows", "ten"], ["compare", "--bogus"], ["nope"]])
def test_unparseable_arguments_exit_2(args):
    res = _run(*args)
    assert res.exit_code == 2
    assert "Traceback" not in res.output


@pytest.mark.ngspice
def test_compare_json_has_the_promised_keys():
    res = _run("compare", "--rows", "8", "--cols", "4", "--vectors", "10", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for key in ("rows", "cols", "vectors", "max_abs_err_A", "max_rel_err", "max_err_lsb",
                "seconds_ideal", "seconds_spice"):
        assert key in out
    assert (out["rows"], out["cols"], out["vectors"]) == (8, 4, 10)
    assert out["max_rel_err"] < 1e-10  # ideal wires: see test_engines for the budget


@pytest.mark.ngspice
def test_compare_table_output():
    res = _run("compare", "--rows", "4", "--cols", "4", "--vectors", "3", "--differential")
    assert res.exit_code == 0, res.output
    assert "max_rel_err" in res.output


@pytest.mark.ngspice
def test_netlist_writes_a_deck_that_runs_alone(tmp_path):
    deck = tmp_path / "x.cir"
    res = _run("netlist", "--out", str(deck), "--rows", "4", "--cols", "3", "--vectors", "5",
               "--r-wire", "1", "--differential")
    assert res.exit_code == 0, res.output
    proc = subprocess.run(["ngspice", "-b", "-r", str(tmp_path / "x.raw"), str(deck)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from cosim.simulators.rawfile import read_raw

    plot = read_raw(tmp_path / "x.raw")[-1]
    assert plot.points == 5 and "i(vs5)" in plot.vectors


@pytest.mark.ngspice
def test_doctor_reports_versions():
    res = _run("doctor")
    assert res.exit_code == 0, res.output
    assert "ngspice" in res.output and "engine spice" in res.output


@pytest.mark.ngspice
def test_demo_runs_both_sweeps_and_ends_with_the_report(tmp_path):
    res = _run("demo", "--results", str(tmp_path))
    assert res.exit_code == 0, res.output
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("report: ") and last.endswith("report.html")
    (run_dir,) = list(tmp_path.iterdir())
    for sub in ("demo_compare", "demo_variation"):
        names = {p.name for p in (run_dir / sub).iterdir()}
        assert {"report.html", "results.parquet", "results.csv", "manifest.json"} <= names
        manifest = json.loads((run_dir / sub / "manifest.json").read_text())
        assert manifest["ngspice_version"] and manifest["config"]["points"] > 0
    import pandas as pd

    table = pd.read_parquet(run_dir / "demo_compare" / "results.parquet")
    assert set(table.status) == {"ok"}
    assert table[table.r_wire_ohm == 0].max_rel_err.max() < 1e-10


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["compare", "--cell", "memristor"], "cell='memristor'"),
        (["compare", "--cell", "fefet", "--sparsity", "0.5"], "sparsity=0.5"),
        (["compare", "--cell", "sparse_fefet", "--sparsity", "1.0"], "sparsity=1.0"),
        (["device", "--preset", "silicon"], "preset='silicon'"),
        (["device", "--v-pulse", "-1"], "v_pulse_v=-1"),
        (["device", "--pulses", "0"], "pulses=0"),
        (["device", "--width", "0"], "width_s=0"),
    ],
)
def test_device_and_cell_errors_exit_2(args, needle):
    res = _run(*args)
    assert res.exit_code == 2, res.output
    assert needle in res.output


@pytest.mark.ngspice
def test_compare_fefet_behavioral_vs_spice_json():
    res = _run("compare", "--cell", "fefet", "--engines", "behavioral,spice", "--rows", "8",
               "--cols", "8", "--vectors", "20", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["cell"] == "fefet" and "seconds_behavioral" in out
    assert out["max_err_lsb"] < 0.5


def test_device_writes_plots_data_and_drift_table(tmp_path):
    res = _run("device", "--results", str(tmp_path), "--drift")
    assert res.exit_code == 0, res.output
    for label in ("1 s", "1 h", "1 day", "1 year"):
        assert label in res.output
    (run_dir,) = list(tmp_path.iterdir())
    names = {p.name for p in run_dir.iterdir()}
    for stem in ("idvg", "hysteresis", "pulses", "drift"):
        assert {f"{stem}.png", f"{stem}.csv"} <= names
    summary = json.loads((run_dir / "device_summary.json").read_text())
    assert summary["pulses"]["distinguishable_levels"] >= 16
    assert "manifest.json" in names


def test_irdrop_writes_figure_and_table(tmp_path):
    res = _run("irdrop", "--results", str(tmp_path), "--sizes", "8,16", "--ratios", "1e-5,1e-3",
               "--vectors", "5")
    assert res.exit_code == 0, res.output
    (run_dir,) = list(tmp_path.iterdir())
    import pandas as pd

    table = pd.read_csv(run_dir / "irdrop.csv")
    assert len(table) == 4 and (run_dir / "irdrop.png").stat().st_size > 0
    big = table.set_index(["size", "ratio"]).max_rel_err
    assert big[16, 1e-3] > big[8, 1e-3] > big[8, 1e-5]


@pytest.mark.parametrize(("args", "needle"), [
    (["irdrop", "--sizes", "8,x"], "sizes='8,x'"),
    (["irdrop", "--sizes", "0"], "sizes=(0,)"),
    (["irdrop", "--ratios", "-1"], "ratios=(-1.0,)"),
    (["compare", "--engines", "nodal,warp"], "engines='warp'"),
])
def test_irdrop_errors_exit_2(args, needle):
    res = _run(*args)
    assert res.exit_code == 2, res.output
    assert needle in res.output


def _config(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize(("text", "needle"), [
    ("[train]\nepochs = -1\n", "train.epochs=-1"),
    ("[train]\nmode = 'fast'\n", "train.mode='fast'"),
    ("[hardware]\nengine = 'gpu'\n", "hardware.engine='gpu'"),
    ("[train\n", "not valid TOML"),
])
def test_train_config_errors_exit_2(tmp_path, text, needle):
    for cmd in ("train", "evaluate"):
        res = _run(cmd, _config(tmp_path, text), "--results", str(tmp_path / "r"))
        assert res.exit_code == 2, res.output
        assert needle in res.output
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_train_missing_config_exits_2(tmp_path):
    res = _run("train", str(tmp_path / "none.toml"))
    assert res.exit_code == 2 and "existing TOML file" in res.output


def test_train_and_evaluate_write_their_outputs(tmp_path):
    cfg = _config(tmp_path, "[data]\nlimit_train = 150\nlimit_test = 60\n[train]\nepochs = 5\n"
                            "[evaluate]\nseeds = 1\nadc_bits = [4]\ndrift_times_s = [3600.0]\n"
                            "d2d_sigma_v = [0.03]\n")
    res = _run("train", cfg, "--results", str(tmp_path / "t"))
    assert res.exit_code == 0, res.output
    (run_dir,) = list((tmp_path / "t").iterdir())
    names = {p.name for p in run_dir.iterdir()}
    assert {"epochs.csv", "summary.json", "curves.png", "device_states.npz", "manifest.json",
            "layer0_tile0_0.cir", "config.json"} <= names
    res = _run("evaluate", cfg, "--results", str(tmp_path / "e"))
    assert res.exit_code == 0, res.output
    (run_dir,) = list((tmp_path / "e").iterdir())
    assert {"evaluate.csv", "evaluate_summary.csv", "evaluate.png", "manifest.json"} <= {
        p.name for p in run_dir.iterdir()}
    assert "drift_time_s" in res.output


@pytest.mark.parametrize(("args", "needle"), [
    (["energy", "--sense", "sar"], "sense='sar'"),
    (["energy", "--rows", "0"], "rows=0"),
    (["energy", "--dac-bits", "0"], "dac.bits=0"),
    (["compare", "--periphery", "opamp"], "periphery='opamp'"),
    (["compare", "--periphery-level", "transistor"], "periphery_level='transistor'"),
    (["compare", "--periphery", "tia", "--periphery-level", "gate"], "periphery_level='gate'"),
    (["energy", "--level", "spice"], "level='spice'"),
    (["energy", "--adc-arch", "pipelined"], "adc_arch='pipelined'"),
    (["energy", "--cols-per-adc", "0"], "cols_per_adc=0"),
    (["energy", "--adc-energy", "guess"], "adc_energy='guess'"),
    (["compare", "--adc-percentile", "20"], "adc_percentile=20.0"),
])
def test_energy_and_periphery_errors_exit_2(args, needle):
    res = _run(*args)
    assert res.exit_code == 2, res.output
    assert needle in res.output


@pytest.mark.ngspice
def test_energy_writes_breakdown_chart_and_manifest(tmp_path):
    res = _run("energy", "--rows", "6", "--cols", "4", "--vectors", "3", "--results",
               str(tmp_path))
    assert res.exit_code == 0, res.output
    for block in ("array", "sensing", "dac", "adc", "settling"):
        assert block in res.output
    (run_dir,) = list(tmp_path.iterdir())
    assert {"energy.csv", "energy.json", "energy.png", "manifest.json"} <= {
        p.name for p in run_dir.iterdir()}
    summary = json.loads((run_dir / "energy.json").read_text())
    assert summary["total"]["simulated_J_per_MAC"] > 0
    assert summary["behavioral_vs_spice_max_err_lsb"] <= 1.0


@pytest.mark.ngspice
def test_energy_with_pruned_cells_spends_less_in_the_array(tmp_path):
    """75 % of the digital FeFETs off: the array's read energy (simulated) falls by
    more than 2x (pruned cells conduct ~1e-6 of a kept one); per kept MAC it rises."""
    out = {}
    for sp in ("0", "0.75"):
        res = _run("energy", "--cell", "sparse_fefet", "--rows", "8", "--cols", "8",
                   "--vectors", "3", "--sparsity", sp, "--results", str(tmp_path / sp))
        assert res.exit_code == 0, res.output
        (run_dir,) = list((tmp_path / sp).iterdir())
        out[sp] = json.loads((run_dir / "energy.json").read_text())
    array = {sp: next(b["simulated_J_per_MAC"] for b in s["blocks"] if b["block"] == "array")
             for sp, s in out.items()}
    assert array["0.75"] < 0.5 * array["0"]
    assert 0.1 < out["0.75"]["kept_fraction"] < 0.4 and out["0"]["kept_fraction"] == 1.0
    assert "per kept" in res.output


@pytest.mark.ngspice
def test_energy_transistor_level_sar_with_mux(tmp_path):
    res = _run("energy", "--rows", "4", "--cols", "4", "--vectors", "2", "--level",
               "transistor", "--adc-level", "behavioral", "--adc-arch", "sar", "--cols-per-adc",
               "2", "--adc-energy",
               "comparator", "--results", str(tmp_path))
    assert res.exit_code == 0, res.output
    assert "transistor-level op-amps" in res.output
    assert "2 x 8-bit sar" in res.output
    (run_dir,) = list(tmp_path.iterdir())
    summary = json.loads((run_dir / "energy.json").read_text())
    assert summary["opamp"]["dc_gain"] > 1e3
    assert summary["comparator"]["energy_per_decision_j"] > 0
    assert summary["adc_time_per_vector_s"] == pytest.approx(2 * 8 * 2e-9)
