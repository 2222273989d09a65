import subprocess
import sys


def test_import_cosim_is_light():
    code = ("import sys, cosim, netlists, device_models; "
            "heavy = [m for m in ('matplotlib', 'dask', 'PySpice', 'pandas') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_figures_leave_the_matplotlib_backend_alone(tmp_path):
    """Plots use the object API: a notebook user's backend is not switched."""
    import matplotlib

    from cosim.runs.files import figures, write_figure

    before = matplotlib.get_backend()
    fig, ax = figures().subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    write_figure(fig, tmp_path / "x.png")
    assert (tmp_path / "x.png").stat().st_size > 1000
    assert matplotlib.get_backend() == before
