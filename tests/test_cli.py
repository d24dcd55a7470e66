import subprocess
import sys


def test_cli_lists_commands():
    out = subprocess.run([sys.executable, "-m", "omnialign.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    for cmd in ("quickstart", "train", "chat", "world", "eval", "export", "vocab"):
        assert cmd in out.stdout


def test_cli_error_is_clean(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("name: x\nstages: []\n")
    out = subprocess.run([sys.executable, "-m", "omnialign.cli", "train", str(bad), "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "error:" in out.stderr and "r.yaml" in out.stderr and "Traceback" not in out.stderr
