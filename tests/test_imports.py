import subprocess
import sys


def test_import_cosim_is_light():
    code = ("import sys, cosim, netlists, device_models; "
            "heavy = [m for m in ('matplotlib', 'dask', 'PySpice', 'pandas') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
