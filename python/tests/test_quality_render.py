"""`quality=` of compress/batch and `eval(render=True)` (the command's `--quality` and
`eval --render`), against the installed wheel. Small scenes and tiny pictures keep it fast.
"""

import json

import pytest

import splatpress
from test_api import command, compress_sample, run_command
from test_batch import sample as sample_file

VIEWS = 2
SIZE = 64
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def without_seconds(report):
    return {k: v for k, v in report.items() if k != "seconds"}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A sample PLY written by the command, and its SOG compressed by the module."""
    root = tmp_path_factory.mktemp("render")
    ply = sample_file(root / "scene.ply", 2000, 1)
    sog = root / "scene.sog"
    splatpress.compress(ply, sog, backend="cpu")
    return ply, sog


def render_eval(original, compressed, **kwargs):
    kwargs.setdefault("views", VIEWS)
    kwargs.setdefault("size", SIZE)
    kwargs.setdefault("render_backend", "cpu")
    return splatpress.eval(original, compressed, render=True, **kwargs)


def test_small_quality_is_no_larger_than_max(tmp_path):
    sizes = {}
    for quality in ("max", "balanced", "small"):
        report = compress_sample(tmp_path / f"{quality}.sog", quality=quality)
        sizes[quality] = report["written"]["total_bytes"]
    assert sizes["small"] <= sizes["max"], sizes
    # The default is max: the same bytes as without the keyword.
    compress_sample(tmp_path / "default.sog")
    assert (tmp_path / "default.sog").read_bytes() == (tmp_path / "max.sog").read_bytes()


def test_quality_same_bytes_as_the_command(tmp_path):
    done = run_command(
        "compress", "--sample", "cli.sog", "--count", 3000, "--backend", "cpu",
        "--quality", "small", cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    compress_sample(tmp_path / "py.sog", quality="small")
    assert (tmp_path / "cli.sog").read_bytes() == (tmp_path / "py.sog").read_bytes()


def test_bad_quality_raises(tmp_path):
    with pytest.raises(ValueError, match="unknown quality"):
        compress_sample(tmp_path / "out.sog", quality="tiny")
    with pytest.raises(ValueError, match="unknown quality"):
        splatpress.batch(tmp_path, tmp_path / "out", backend="cpu", quality="tiny")
    assert list(tmp_path.iterdir()) == []


def test_batch_takes_quality(tmp_path):
    scenes = tmp_path / "in"
    sample_file(scenes / "a.ply", 1500, 1)
    outputs = {}
    for quality in ("max", "small"):
        summary = splatpress.batch(scenes, tmp_path / quality, backend="cpu", quality=quality)
        assert summary["totals"]["ok"] == 1, summary
        outputs[quality] = (tmp_path / quality / "a.sog").read_bytes()
    single = tmp_path / "single.sog"
    splatpress.compress(scenes / "a.ply", single, backend="cpu", quality="small")
    assert outputs["small"] == single.read_bytes()
    assert len(outputs["small"]) <= len(outputs["max"])


def test_render_eval_of_a_compressed_scene(tmp_path, source):
    ply, sog = source
    events = []
    report = render_eval(ply, sog, progress=events.append)
    assert report["renderer"] == "cpu"
    assert report["kernel"] == "playcanvas"
    assert report["cameras"] == "orbit"
    assert report["splats"] == [2000, 2000]
    assert report["images"] == []
    assert len(report["views"]) == VIEWS
    for view in report["views"]:
        assert (view["width"], view["height"]) == (SIZE, SIZE)
        assert 0 < view["psnr_db"] < 100
        assert 0 < view["ssim"] <= 1
    mean = report["mean"]
    assert mean["psnr_db"] == pytest.approx(sum(v["psnr_db"] for v in report["views"]) / VIEWS)
    assert mean["ssim"] == pytest.approx(sum(v["ssim"] for v in report["views"]) / VIEWS)
    stages = {e["stage"] for e in events if e["event"] == "start"}
    assert {"render original", "render compressed"} <= stages
    # The same dict as the command's --json, less the wall time.
    done = run_command(
        "eval", "--render", "--json", "--views", VIEWS, "--size", SIZE,
        "--render-backend", "cpu", ply, sog, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert without_seconds(json.loads(done.stdout)) == without_seconds(report)


def test_render_eval_of_a_scene_against_itself(source):
    ply, _ = source
    report = render_eval(ply, ply, kernel="standard")
    assert report["kernel"] == "standard"
    for view in report["views"]:
        assert view["psnr_db"] == 100
        assert view["ssim"] == pytest.approx(1)
    assert report["mean"]["psnr_db"] == 100
    assert report["mean"]["ssim"] == pytest.approx(1)


def test_render_eval_writes_pictures(tmp_path, source):
    ply, sog = source
    pictures = tmp_path / "pictures"
    report = render_eval(ply, sog, images=pictures)
    names = ["view_00.png", "view_01.png", "contact_sheet.png"]
    assert report["images"] == [str(pictures / n) for n in names]
    assert sorted(p.name for p in pictures.iterdir()) == sorted(names)
    for name in names:
        assert (pictures / name).read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"views": 0}, "views"),
        ({"size": 8}, "size"),
        ({"size": -1}, "size"),
        ({"kernel": "gaussian"}, "unknown kernel"),
        ({"render_backend": "gpu"}, "unknown render_backend"),
        ({"lod": -1}, "lod"),
    ],
)
def test_bad_render_keywords(tmp_path, source, kwargs, words):
    ply, sog = source
    with pytest.raises(ValueError, match=words):
        render_eval(ply, sog, images=tmp_path / "pictures", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_render_keywords_need_render(source):
    ply, sog = source
    with pytest.raises(ValueError, match="render=True"):
        splatpress.eval(ply, sog, views=VIEWS)


def test_render_eval_missing_input(tmp_path, source):
    _, sog = source
    with pytest.raises(splatpress.InputError):
        render_eval(tmp_path / "nope.ply", sog)
