"""`splatpress.batch`: the library's batch through the module, against the installed wheel.

Every input is made here: sample scenes written by the console command, and a broken PLY.
"""

import json
import subprocess
from pathlib import Path

import pytest

import splatpress
from test_api import command


def sample(path: Path, count: int, bands: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [command(), "sample", str(path), "--count", str(count), "--bands", str(bands)],
        check=True,
        capture_output=True,
    )
    return path


@pytest.fixture()
def scenes(tmp_path):
    """Two good scenes (one nested) and a truncated one."""
    root = tmp_path / "in"
    sample(root / "a.ply", 1500, 1)
    sample(root / "nested" / "b.ply", 1200, 3)
    good = (root / "a.ply").read_bytes()
    (root / "nested" / "broken.ply").write_bytes(good[: len(good) // 2])
    return root


def test_batch_reports_every_scene_and_matches_compress(scenes, tmp_path):
    out = tmp_path / "out"
    events = []
    summary = splatpress.batch(scenes, out, backend="cpu", seed=5, jobs=2, progress=events.append)
    assert summary == json.loads((out / "summary.json").read_text())
    assert summary["totals"]["scenes"] == 3
    assert (summary["totals"]["ok"], summary["totals"]["failed"]) == (2, 1)
    assert summary["workers"]["cpu"] == 2
    by_input = {Path(s["input"]).name: s for s in summary["scenes"]}
    assert by_input["broken.ply"]["status"] == "failed"
    assert "truncated" in by_input["broken.ply"]["error"]
    assert not (out / "nested" / "broken.sog").exists()
    for name, rel in [("a.ply", "a.sog"), ("b.ply", "nested/b.sog")]:
        assert by_input[name]["status"] == "ok"
        alone = tmp_path / f"alone-{name}.sog"
        src = scenes / rel.replace(".sog", ".ply")
        splatpress.compress(src, alone, backend="cpu", seed=5)
        assert (out / rel).read_bytes() == alone.read_bytes(), rel
    kinds = {e["event"] for e in events}
    assert {"start", "step", "note", "finish"} <= kinds
    assert sum(e["event"] == "step" for e in events) == 3


def test_resume_skips_complete_outputs(scenes, tmp_path):
    out = tmp_path / "out"
    splatpress.batch(scenes, out, backend="cpu")
    again = splatpress.batch(scenes, out, backend="cpu", resume=True)
    assert (again["totals"]["skipped"], again["totals"]["failed"]) == (2, 1)


def test_batch_level_errors_raise(tmp_path):
    with pytest.raises(splatpress.InputError, match="missing"):
        splatpress.batch(tmp_path / "missing", tmp_path / "out", backend="cpu")
    manifest = tmp_path / "list.jsonl"
    manifest.write_text('{"input": "x.ply", "sead": 1}\n')
    with pytest.raises(splatpress.InputError, match="line 1"):
        splatpress.batch(manifest, tmp_path / "out", backend="cpu")
    with pytest.raises(ValueError, match="jobs"):
        splatpress.batch(tmp_path, tmp_path / "out", jobs=0)
    with pytest.raises(ValueError, match="backend"):
        splatpress.batch(tmp_path, tmp_path / "out", backend="gpu")
