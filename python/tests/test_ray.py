"""Tests of deploy/ray/compress_scenes.py: many scenes on a local Ray cluster of 2 workers.

Skipped when Ray (with Ray Data) is not installed, unless SPLATPRESS_REQUIRE_RAY=1 (as
`cargo xtask dist --test` sets, having installed it), which makes its absence an error.
Every scene is made here with the console command `splatpress sample`.
"""

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from test_api import run_command

try:
    import ray
    import ray.data  # noqa: F401 - needs the `ray[data]` extra (pyarrow, pandas)
except ImportError as missing:
    if os.environ.get("SPLATPRESS_REQUIRE_RAY") == "1":
        raise ImportError(f"SPLATPRESS_REQUIRE_RAY=1 but Ray Data cannot be imported: {missing}")
    pytest.skip(f"Ray Data is not installed ({missing}); pip install 'ray[data]' to run these "
                "tests", allow_module_level=True)

# Ray Data's own DataContext warns of its deprecated settings when it copies itself.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

ROOT = Path(__file__).resolve().parents[2]
SEED = 7
# (relative path, splats, SH bands): a mix of sizes, bands and folders.
SCENES = [
    ("garden.ply", 1000, 0),
    ("bicycle.ply", 4000, 3),
    ("indoor/room.ply", 2500, 1),
    ("indoor/kitchen.ply", 1500, 2),
    ("outdoor/a/tree.ply", 3000, 3),
    ("outdoor/a/rock.ply", 2000, 0),
    ("outdoor/b/bench.ply", 3500, 2),
    ("outdoor/b/deep/stump.ply", 1200, 1),
]
BROKEN = "outdoor/broken.ply"
SCENE_FIELDS = {"input", "output", "status", "error", "bytes_in", "bytes_out", "ratio",
                "seconds", "backend", "device"}


def load_script():
    """deploy/ray/compress_scenes.py, imported by path (deploy/ is not a package)."""
    path = ROOT / "deploy" / "ray" / "compress_scenes.py"
    spec = importlib.util.spec_from_file_location("compress_scenes", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


compress_scenes = load_script()


@pytest.fixture(scope="module")
def cluster():
    """A new local Ray instance with 2 CPUs (no GPUs, so the test is the same everywhere)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(address="local", num_cpus=2, num_gpus=0, include_dashboard=False,
             log_to_driver=False, object_store_memory=128 * 1024 * 1024)
    yield
    ray.shutdown()


def sample(path, count, bands):
    path.parent.mkdir(parents=True, exist_ok=True)
    done = run_command("sample", path, "--count", count, "--bands", bands, cwd=path.parent)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """An input folder with the 8 SCENES and one truncated PLY."""
    root = tmp_path_factory.mktemp("scenes")
    for rel, count, bands in SCENES:
        sample(root / rel, count, bands)
    good = (root / SCENES[1][0]).read_bytes()
    (root / BROKEN).write_bytes(good[:600])  # ends inside the header
    return root


def test_finds_scenes_and_mirrors_names(tmp_path):
    root = tmp_path / "in"
    for rel in ["a/b/x.compressed.ply", "a/y.PLY", "z.splat", "s.sog", "notes.txt",
                "sog/meta.json", "sog/means_l.webp", "deep/v2.sog/meta.json",
                "out/old.ply", "ply"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    found = compress_scenes.find_scenes(root, root / "out")
    assert [(str(src.relative_to(root)), str(out)) for src, out in found] == [
        ("a/b/x.compressed.ply", "a/b/x.sog"),
        ("a/y.PLY", "a/y.sog"),
        ("deep/v2.sog", "deep/v2.sog"),
        ("s.sog", "s.sog"),
        ("sog", "sog.sog"),
        ("z.splat", "z.sog"),
    ]
    # A SOG folder given as the input folder is the one scene.
    assert compress_scenes.find_scenes(root / "sog", tmp_path / "o") == [
        ((root / "sog").resolve(), Path("sog.sog"))
    ]


def test_scenes_on_two_workers_match_the_command(cluster, scenes, tmp_path):
    scenes, out = scenes.resolve(), tmp_path.resolve() / "out"
    summary = compress_scenes.run(scenes, out, workers=2, seed=SEED, backend="cpu")

    assert json.loads((out / "summary.json").read_text()) == summary
    inputs = [scene["input"] for scene in summary["scenes"]]
    assert inputs == sorted(inputs)
    assert sorted(inputs) == sorted(str(scenes / rel) for rel in [*(s[0] for s in SCENES), BROKEN])
    assert all(set(scene) == SCENE_FIELDS for scene in summary["scenes"])
    by_input = {scene["input"]: scene for scene in summary["scenes"]}

    # The broken scene failed alone, and left nothing behind.
    broken = by_input.pop(str(scenes / BROKEN))
    assert broken["status"] == "failed"
    assert broken["error"].startswith("InputError: ")
    assert broken["bytes_out"] is None
    assert not (out / BROKEN).with_suffix(".sog").exists()
    assert summary["totals"]["ok"] == len(SCENES) and summary["totals"]["failed"] == 1

    cli = tmp_path / "cli"
    for rel, count, bands in SCENES:
        scene = by_input[str(scenes / rel)]
        assert scene["status"] == "ok", scene["error"]
        assert scene["output"] == str(out / Path(rel).with_suffix(".sog"))
        assert scene["backend"] == "cpu" and scene["error"] is None
        assert scene["bytes_out"] == Path(scene["output"]).stat().st_size
        assert scene["bytes_in"] == (scenes / rel).stat().st_size
        # The same bytes as the console command's for the same seed.
        expected = cli / Path(rel).with_suffix(".sog")
        expected.parent.mkdir(parents=True, exist_ok=True)
        done = run_command("compress", scenes / rel, expected, "--seed", SEED,
                           "--backend", "cpu", "--quiet", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert Path(scene["output"]).read_bytes() == expected.read_bytes(), rel
    assert summary["totals"]["bytes_out"] == sum(s["bytes_out"] for s in by_input.values())

    # Both workers ran scenes: with 2 tasks at once, each runs in its own worker process
    # (a Ray worker runs one task at a time), and run() lets both start together.
    workers = summary["workers"]
    assert workers["concurrency"] == 2 and workers["per_task"] == {"num_cpus": 1}
    assert len(workers["processes"]) == 2, workers
    assert sum(workers["processes"].values()) == len(SCENES) + 1


def test_command_line_exit_status(cluster, scenes, tmp_path, capsys):
    """main() uses the running Ray; it exits 1 when a scene failed. Two inputs with one
    output name are not both compressed."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name, rel in [("x.ply", SCENES[0][0]), ("x.compressed.ply", SCENES[0][0]),
                      ("broken.ply", BROKEN)]:
        (folder / name).write_bytes((scenes / rel).read_bytes())
    status = compress_scenes.main([str(folder), str(tmp_path / "out"),
                                   "--seed", str(SEED), "--backend", "cpu"])
    printed = capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert status == 1, printed
    assert "1 ok, 2 failed" in printed
    assert [(Path(s["input"]).name, s["status"]) for s in summary["scenes"]] == [
        ("broken.ply", "failed"), ("x.compressed.ply", "ok"), ("x.ply", "failed")
    ]
    assert summary["scenes"][2]["error"].startswith("OutputError: ")
    assert (tmp_path / "out" / "x.sog").is_file()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["summary.json", "x.sog"]
