"""The layout shows the architecture: imports point down the layers, never up.

Every ``import`` and ``from ... import`` in the project's packages, including the
ones inside functions (lazy imports count: they are still dependencies), is read
with ``ast``. A module may import its own layer or a lower one.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = (
    "device_models",     # compact models, cell registry
    "periphery",         # DAC/ADC, sensing, op-amp, comparator: numpy + SPICE faces
    "netlists",          # deck assembly (text only)
    "cosim.errors",
    "cosim.array",       # state, result, mapping, energy models
    "cosim.simulators",  # ngspice harness, raw reader, PySpice shared
    "cosim.runs",        # run directories, manifests
    "cosim.engines",
    "cosim",             # the package facade re-exports the engines' public types
    "cosim.benches",
    "cosim.nn",
    "cosim.studies",
    "cosim.sweeps",
    "cosim.codesign",    # the co-design search runs on the sweep machinery
    "cosim.reports",
    "cosim.cli",
)
PACKAGES = ("device_models", "periphery", "netlists", "cosim")


def layer_of(module: str) -> int:
    """Index of the most specific layer the dotted module name falls in."""
    best = -1
    for i, name in enumerate(LAYERS):
        if (module == name or module.startswith(name + ".")) and (
                best < 0 or len(name) > len(LAYERS[best])):
            best = i
    return best


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from cosim import ngspice" names a submodule: resolve it to that layer
            for a in node.names:
                full = f"{node.module}.{a.name}"
                is_sub = (ROOT / Path(*full.split("."))).with_suffix(".py").exists() or (
                    ROOT / Path(*full.split("."))).is_dir()
                found.append((node.lineno, full if is_sub else node.module))
    return [(line, m) for line, m in found if m.split(".")[0] in PACKAGES]


def project_modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def upward_imports(paths: list[Path]) -> list[str]:
    bad = []
    for path in paths:
        me = module_name(path)
        mine = layer_of(me)
        for line, target in imports_of(path):
            if layer_of(target) > mine:
                bad.append(f"{path.relative_to(ROOT)}:{line} {me} ({LAYERS[mine]}) imports "
                           f"{target} ({LAYERS[layer_of(target)]})")
    return bad


def test_every_module_belongs_to_a_layer():
    assert [module_name(p) for p in project_modules() if layer_of(module_name(p)) < 0] == []


def test_imports_only_point_down():
    assert upward_imports(project_modules()) == []


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch):
    """The test above can fail: an engine importing the sweeps layer is reported."""
    fake = ROOT / "cosim" / "engines" / "_upward_probe.py"
    fake.write_text("from cosim.sweeps.runner import run_sweep\n")
    try:
        bad = upward_imports([fake])
    finally:
        fake.unlink()
    assert len(bad) == 1 and "cosim.sweeps.runner (cosim.sweeps)" in bad[0]


def test_cosim_top_level_holds_only_subpackages():
    top = sorted(p.name for p in (ROOT / "cosim").iterdir()
                 if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))
    modules = [n for n in top if n.endswith(".py")]
    assert modules == ["__init__.py", "errors.py"], modules
