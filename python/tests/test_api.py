"""Tests of the installed `splatpress` wheel: the module API and the console command.

Run by `cargo xtask dist --test` (a fresh venv with the wheel and pytest). Every input
these tests need is made here: the built-in sample scene, and small bad files.
"""

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import splatpress

COUNT = 3000
REPORT_KEYS = {
    "input",
    "input_bytes",
    "output",
    "sanitized",
    "backend",
    "encoder",
    "written",
    "seconds",
}


def command():
    """The `splatpress` console command installed beside this interpreter."""
    beside = Path(sys.executable).parent / "splatpress"
    if beside.exists():
        return str(beside)
    found = shutil.which("splatpress")
    assert found, "the splatpress console command is not installed"
    return found


def run_command(*args, cwd):
    return subprocess.run(
        [command(), *map(str, args)],
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=600,
    )


def compress_sample(output, **kwargs):
    kwargs.setdefault("sample_count", COUNT)
    kwargs.setdefault("backend", "cpu")
    return splatpress.compress(None, output, **kwargs)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample scene compressed once (seed 0, CPU): its .sog path and report."""
    out = tmp_path_factory.mktemp("sample") / "sample.sog"
    return out, compress_sample(out)


@pytest.fixture(scope="module")
def sample_ply(tmp_path_factory, sample):
    """The compressed sample decoded to a PLY: a file input for the other jobs."""
    sog, _ = sample
    ply = tmp_path_factory.mktemp("decoded") / "sample.ply"
    report = splatpress.decode(sog, ply)
    return ply, report


def without_timings(report):
    """A compress report less what differs from run to run (times, the output name)."""
    report = json.loads(json.dumps(report))
    for key in ("seconds", "output"):
        report.pop(key)
    report["encoder"]["stages"] = [name for name, _ in report["encoder"]["stages"]]
    return report


def test_compress_sample_report(sample):
    out, report = sample
    assert set(report) == REPORT_KEYS
    assert report["input"] is None and report["input_bytes"] is None
    assert report["output"] == str(out)
    assert report["backend"]["chosen"] == "cpu"
    assert report["backend"]["passed_over"] == []
    assert report["encoder"]["splats"] == COUNT
    assert report["encoder"]["sh_bands"] == 3
    assert report["written"]["total_bytes"] > 0
    assert out.stat().st_size > 0
    assert isinstance(report["seconds"], float)


def test_same_seed_same_bytes(tmp_path):
    a, b, c = tmp_path / "a.sog", tmp_path / "b.sog", tmp_path / "c.sog"
    compress_sample(a, seed=7)
    compress_sample(b, seed=7)
    compress_sample(c, seed=8)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_same_bytes_and_report_as_the_command(tmp_path):
    done = run_command(
        "compress", "--sample", "out_cli.sog", "--count", COUNT, "--seed", 5,
        "--backend", "cpu", "--json", cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    cli_report = json.loads(done.stdout)
    py_report = splatpress.compress(
        None, str(tmp_path / "out_py.sog"), sample_count=COUNT, seed=5, backend="cpu"
    )
    assert (tmp_path / "out_cli.sog").read_bytes() == (tmp_path / "out_py.sog").read_bytes()
    assert set(py_report) == set(cli_report)
    assert without_timings(py_report) == without_timings(cli_report)


def test_decode(sample_ply):
    ply, report = sample_ply
    assert report == {
        "output": str(ply),
        "splats": COUNT,
        "sh_bands": 3,
        "model": "default",
        "read_notes": [],
        "not_kept": [],
    }
    assert ply.stat().st_size > 0


@pytest.mark.parametrize("suffix", [".spz", ".glb"])
def test_decode_writes_spz_and_glb(tmp_path, sample_ply, suffix):
    ply, _ = sample_ply
    out = tmp_path / ("scene" + suffix)
    report = splatpress.decode(ply, out)
    assert (report["splats"], report["sh_bands"]) == (COUNT, 3)
    info = splatpress.info(out)
    assert (info["splats"], info["sh_bands"], info["format"]) == (COUNT, 3, suffix[1:])


def test_compress_a_file(tmp_path, sample_ply):
    ply, _ = sample_ply
    out = tmp_path / "scene.sog"
    report = splatpress.compress(ply, out, backend="cpu", order="plas", plas_quality="fast")
    assert report["input"] == str(ply)
    assert report["input_bytes"] == ply.stat().st_size
    assert report["encoder"]["splats"] == COUNT
    assert out.exists()


def test_compress_to_meta_json(tmp_path):
    report = compress_sample(tmp_path / "meta.json", sample_bands=0, sh_bands=0, webp_effort=0)
    names = {name for name, _ in report["written"]["files"]}
    assert "meta.json" in names
    assert all((tmp_path / name).exists() for name in names)
    assert report["encoder"]["sh_bands"] == 0


def test_info(tmp_path, sample, sample_ply):
    sog, _ = sample
    ply, _ = sample_ply
    info = splatpress.info(sog)
    assert info["format"] == "sog"
    assert info["splats"] == COUNT
    assert info["sog_conformance_problems"] == []
    assert {"sh_bands", "bounds"} <= set(info)
    ply_info = splatpress.info(str(ply))
    assert "sog_conformance_problems" not in ply_info
    done = run_command("info", "--json", sog, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == info


def test_eval(tmp_path, sample, sample_ply):
    sog, _ = sample
    ply, _ = sample_ply
    events = []
    evaluation = splatpress.eval(ply, sog, progress=events.append)
    expected = {"matching", "bbox_diagonal", "position", "log_scale", "rotation_deg",
                "opacity", "color_dc", "color_dc_psnr_db", "sizes"}
    assert expected <= set(evaluation)
    assert evaluation["sizes"] is not None
    assert any(e["event"] == "note" for e in events)
    done = run_command("eval", "--json", ply, sog, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == evaluation


def test_devices():
    devices = splatpress.devices()
    assert set(devices) == {
        "backends",
        "cuda_requirement",
        "cuda_devices",
        "wgpu_adapters",
        "auto",
    }
    assert devices["cuda_requirement"] == {
        "ptx_isa": "7.0",
        "min_driver": "R450",
        "min_driver_cuda": "11.0",
    }
    by_name = {b["backend"]: b for b in devices["backends"]}
    assert set(by_name) == {"cuda", "wgpu", "cpu"}
    assert by_name["cpu"]["available"] is True
    assert devices["auto"] in by_name
    for status in devices["backends"]:
        assert ("device" in status) == status["available"]
        assert ("reason" in status) != status["available"]


def test_missing_input(tmp_path):
    missing = tmp_path / "nope.ply"
    out = tmp_path / "out.sog"
    with pytest.raises(splatpress.InputError) as caught:
        splatpress.compress(missing, out, backend="cpu")
    assert isinstance(caught.value, splatpress.SplatpressError)
    assert str(missing) in str(caught.value)
    assert list(tmp_path.iterdir()) == []
    # The message is the command's, after "splatpress: error: ".
    done = run_command("compress", missing, out, "--backend", "cpu", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == "splatpress: error: " + str(caught.value)


def test_garbage_input(tmp_path):
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"hello\n")
    with pytest.raises(splatpress.InputError) as caught:
        splatpress.compress(bad, tmp_path / "out.sog", backend="cpu")
    assert str(bad) in str(caught.value)
    with pytest.raises(splatpress.InputError):
        splatpress.info(bad)
    with pytest.raises(splatpress.InputError):
        splatpress.decode(bad, tmp_path / "out.ply")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ply"]


def test_output_errors(tmp_path, sample):
    sog, _ = sample
    with pytest.raises(splatpress.OutputError) as caught:
        compress_sample(tmp_path / "missing" / "out.sog", sample_count=100)
    assert "does not exist" in str(caught.value)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(splatpress.OutputError):
        splatpress.decode(sog, sog)


def test_backend_unavailable(tmp_path):
    cuda = next(b for b in splatpress.devices()["backends"] if b["backend"] == "cuda")
    out = tmp_path / "out.sog"
    if cuda["available"]:
        assert compress_sample(out, backend="cuda")["backend"]["chosen"] == "cuda"
    else:
        with pytest.raises(splatpress.BackendUnavailableError) as caught:
            compress_sample(out, backend="cuda")
        assert "cuda" in str(caught.value)
        assert not out.exists()


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"backend": "gpu"}, "unknown backend"),
        ({"order": "zorder"}, "unknown order"),
        ({"plas_quality": "perfect"}, "unknown plas_quality"),
        ({"webp_effort": 10}, "webp_effort"),
        ({"sh_bands": 4}, "sh_bands"),
        ({"sample_bands": -1}, "sample_bands"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"sh_iterations": 2**32}, "sh_iterations"),
    ],
)
def test_bad_keywords(tmp_path, kwargs, words):
    with pytest.raises(ValueError, match=words):
        compress_sample(tmp_path / "out.sog", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_sample_count_needs_no_input(tmp_path):
    with pytest.raises(ValueError, match="input=None"):
        splatpress.compress(tmp_path / "x.ply", tmp_path / "out.sog", sample_count=10)
    with pytest.raises(TypeError):
        compress_sample(tmp_path / "out.sog", webp_effort="high")


def test_progress_events(tmp_path):
    events = []
    compress_sample(tmp_path / "out.sog", progress=events.append)
    kinds = {e["event"] for e in events}
    assert {"start", "finish", "note"} <= kinds
    starts = [e for e in events if e["event"] == "start"]
    finishes = [e for e in events if e["event"] == "finish"]
    assert [e["stage"] for e in starts] == [e["stage"] for e in finishes]
    assert "write" in [e["stage"] for e in finishes]
    for e in events:
        keys = {"start": {"stage", "total"}, "step": {"done"}, "finish": {"stage", "secs"},
                "note": {"text"}}[e["event"]]
        assert set(e) == {"event"} | keys


def test_progress_exception_is_raised_after_the_job(tmp_path):
    calls = []

    def progress(event):
        calls.append(event)
        raise RuntimeError("stop")

    out = tmp_path / "out.sog"
    with pytest.raises(RuntimeError, match="stop"):
        compress_sample(out, progress=progress)
    assert len(calls) == 1  # not called again after raising
    assert out.exists()  # the job ran to its end (documented)
    with pytest.raises(TypeError):
        compress_sample(out, progress="not callable")


def test_job_error_wins_over_progress_exception(tmp_path):
    def progress(event):
        raise RuntimeError("callback")

    in_the_way = tmp_path / "out.sog"
    in_the_way.mkdir()  # the job runs, then cannot rename its output into place
    with pytest.raises(splatpress.OutputError) as caught:
        compress_sample(in_the_way, sample_count=100, progress=progress)
    assert isinstance(caught.value.__context__, RuntimeError)
    assert [p.name for p in tmp_path.iterdir()] == ["out.sog"]


def test_gil_is_released(tmp_path):
    """Another Python thread runs while a job does."""
    times = {}

    def job():
        times["called"] = time.perf_counter()
        compress_sample(tmp_path / "big.sog", sample_count=30000)
        times["returned"] = time.perf_counter()

    worker = threading.Thread(target=job)
    worker.start()
    while "called" not in times:
        time.sleep(0.001)
    time.sleep(0.02)
    resumed = time.perf_counter()
    worker.join()
    assert resumed < times["returned"] - 0.01, times


def test_exceptions_and_version():
    for name in ("InputError", "OutputError", "BackendUnavailableError"):
        cls = getattr(splatpress, name)
        assert issubclass(cls, splatpress.SplatpressError)
        assert cls.__module__ == "splatpress"
    assert issubclass(splatpress.SplatpressError, Exception)
    from importlib.metadata import version

    assert splatpress.__version__ == version("splatpress")


def test_command_help_and_errors(tmp_path):
    done = run_command("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "compress" in done.stdout and "Usage: splatpress" in done.stdout
    done = run_command("compress", "nope.ply", "x.sog", cwd=tmp_path)
    assert done.returncode == 1
    assert "splatpress: error:" in done.stderr and "nope.ply" in done.stderr
    assert not (tmp_path / "x.sog").exists()
    done = run_command("compress", cwd=tmp_path)
    assert done.returncode == 2
    done = run_command("--version", cwd=tmp_path)
    assert done.returncode == 0 and splatpress.__version__ in done.stdout


def test_gpu_probes_print_no_mesa_noise():
    """Without XDG_RUNTIME_DIR (a headless container), probing the GPUs prints nothing about
    it: the module gives Mesa a private runtime folder at import, as the command does."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    code = "import splatpress, json; print(json.dumps(splatpress.devices()['auto']))"
    ran = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    assert "XDG_RUNTIME_DIR" not in ran.stderr, ran.stderr
