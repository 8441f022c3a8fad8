"""Compress 3D Gaussian Splatting scenes into PlayCanvas SOG.

The functions mirror the ``splatpress`` command, and each returns exactly the dict that the
command prints with ``--json``::

    import splatpress

    report = splatpress.compress("scene.ply", "scene.sog")
    print(report["written"]["total_bytes"], "bytes on", report["backend"]["chosen"])

    # No input at hand: the built-in sample scene (like ``splatpress compress --sample``).
    splatpress.compress(None, "sample.sog", sample_count=3000, backend="cpu")

Jobs run with the GIL released, so other Python threads keep running meanwhile. A job cannot
be interrupted half-way: Ctrl-C is acted on when it returns. Outputs are atomic: a failed
job leaves nothing at (or beside) the output path.

Errors are :class:`SplatpressError` subclasses whose message is the one the command prints
after ``splatpress: error:``:

- :class:`InputError`: an input is missing, unreadable, malformed, or has nothing to compress;
- :class:`OutputError`: the output cannot be written (missing folder, would overwrite the input);
- :class:`BackendUnavailableError`: the backend asked for is unavailable or failed.

Bad keyword values (an unknown backend or order, an out-of-range integer) raise
:class:`ValueError` before any work starts.

Progress: ``progress=`` takes a callable that receives one dict per event, from the thread
running the job, with the GIL held:

- ``{"event": "start", "stage": "k-means", "total": 10}`` (``total`` may be ``None``);
- ``{"event": "step", "done": 3}``;
- ``{"event": "finish", "stage": "k-means", "secs": 0.42}``;
- ``{"event": "note", "text": "backend: cpu (2 threads)"}``.

If the callable raises, it is not called again, the job runs to its end (the library has no
point at which to stop it), and then the callable's exception is raised instead of returning
the report. If the job failed too, the job's error is raised, with the callable's exception
as its ``__context__``.
"""

import atexit as _atexit
import json as _json
import os as _os
import shutil as _shutil
import tempfile as _tempfile
from typing import Any, Callable, Dict, Optional, Union


def _quiet_mesa() -> None:
    """Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" on every GPU probe
    of a headless server or container. As the command does, give them a private, empty folder
    for the life of the process when none is set (at import, before any probe)."""
    if "XDG_RUNTIME_DIR" in _os.environ:
        return
    folder = _tempfile.mkdtemp(prefix="splatpress-runtime-")
    _os.environ["XDG_RUNTIME_DIR"] = folder
    _atexit.register(_shutil.rmtree, folder, True)


_quiet_mesa()

from . import _splatpress
from ._splatpress import (
    BackendUnavailableError,
    InputError,
    OutputError,
    SplatpressError,
)

__version__: str = _splatpress.__version__

__all__ = [
    "compress",
    "batch",
    "decode",
    "eval",
    "info",
    "devices",
    "SplatpressError",
    "InputError",
    "OutputError",
    "BackendUnavailableError",
    "__version__",
]

PathLike = Union[str, "_os.PathLike[str]"]
ProgressCallback = Callable[[Dict[str, Any]], Any]


def compress(
    input: Optional[PathLike],
    output: PathLike,
    *,
    backend: str = "auto",
    sh_iterations: int = 10,
    sh_bands: Optional[int] = None,
    seed: int = 0,
    order: str = "morton",
    plas_quality: str = "default",
    quality: str = "max",
    webp_effort: int = 2,
    sample_count: Optional[int] = None,
    sample_bands: int = 3,
    progress: Optional[ProgressCallback] = None,
) -> Dict[str, Any]:
    """Compress a scene to SOG, like ``splatpress compress --json``.

    Args:
        input: the scene to compress (``.ply``, ``.compressed.ply``, ``.splat``, ``.spz``,
            ``.glb``, ``.sog``, ``meta.json`` or a SOG folder), or ``None`` for the built-in sample scene (the
            command's ``--sample``): ``sample_count`` splats with ``sample_bands`` SH bands,
            drawn from ``seed``.
        output: ``*.sog`` writes one bundle; ``*.json`` a meta.json with WebP textures beside
            it; any other name a folder holding both. Its folder must exist.
        backend: where the k-means and PLAS run: ``"auto"`` (CUDA, then a hardware GPU
            through wgpu, then the CPU, falling back on failure), ``"cuda"``, ``"wgpu"`` or
            ``"cpu"``. See :func:`devices`.
        sh_iterations: Lloyd iterations of the SH palette k-means.
        sh_bands: keep at most this many SH bands (0-3); ``None`` keeps all the input has.
        seed: seed of every random choice; the same input and seed give identical bytes,
            through this function or the command.
        order: texel order, ``"morton"`` (fast) or ``"plas"`` (smaller files, slower).
        plas_quality: PLAS schedule with ``order="plas"``: ``"fast"``, ``"default"`` or
            ``"best"``.
        quality: error against size (the command's ``--quality``): ``"max"`` (every code
            rounded to nearest: half splat-transform's RMS error), ``"balanced"`` (half of that
            margin spent on size) or ``"small"`` (nearly all of it: each attribute's error just
            under splat-transform's, smallest files). Scales, colours and SH are unchanged.
        webp_effort: lossless WebP effort, 0 (fastest) to 9 (smallest).
        sample_count: splats in the sample scene (``input=None`` only; default 20000).
        sample_bands: SH bands of the sample scene, 0-3 (``input=None`` only).
        progress: a callable receiving progress dicts (see the module documentation).

    Returns:
        The report: ``input``, ``input_bytes``, ``output``, ``sanitized``, ``backend``
        (``chosen``, ``device``, ``passed_over``), ``encoder``, ``written`` (``files``,
        ``total_bytes``) and ``seconds``.

    Raises:
        InputError, OutputError, BackendUnavailableError: the job failed (nothing written).
        ValueError: a keyword value is out of range or unknown.
    """
    return _json.loads(
        _splatpress.compress(
            input,
            output,
            backend=backend,
            sh_iterations=sh_iterations,
            sh_bands=sh_bands,
            seed=seed,
            order=order,
            plas_quality=plas_quality,
            quality=quality,
            webp_effort=webp_effort,
            sample_count=sample_count,
            sample_bands=sample_bands,
            progress=progress,
        )
    )


def batch(
    inputs: PathLike,
    output_dir: PathLike,
    *,
    jobs: Optional[int] = None,
    resume: bool = False,
    backend: str = "auto",
    sh_iterations: int = 10,
    sh_bands: Optional[int] = None,
    seed: int = 0,
    order: str = "morton",
    plas_quality: str = "default",
    quality: str = "max",
    webp_effort: int = 2,
    progress: Optional[ProgressCallback] = None,
) -> Dict[str, Any]:
    """Compress many scenes, like ``splatpress batch --json``.

    Args:
        inputs: a folder (every scene under it, recursively), a manifest (one path a line, or
            one JSON object a line with ``input``, optionally ``output`` and per-scene options),
            or one scene.
        output_dir: where the outputs go (created if missing); each scene's ``.sog`` at its
            path relative to ``inputs``, and ``summary.json``.
        jobs: scenes in flight; ``None``: one per CUDA device, else one wgpu worker on a
            hardware GPU, else one CPU worker per four threads.
        resume: skip scenes whose output is already complete (read back and checked).
        backend, sh_iterations, sh_bands, seed, order, plas_quality, quality, webp_effort: as
            for :func:`compress`, for every scene (a manifest line may override them).
        progress: a callable receiving progress dicts: a ``scenes`` stage with one ``step``
            and one ``note`` per scene.

    Returns:
        The summary (also written to ``output_dir/summary.json``): ``workers`` (how many of
        each kind), ``totals`` (``scenes``, ``ok``, ``failed``, ``skipped``, bytes) and
        ``scenes``, each with ``status`` (``"ok"``, ``"failed"``, ``"skipped"``), ``error``,
        sizes, ``seconds`` and ``backend``. Scenes that fail are reported there, not raised.

    Raises:
        InputError: ``inputs`` is missing, or a manifest is malformed (the line and field are
            named).
        OutputError: two scenes would write the same output, or ``output_dir`` cannot be made.
        BackendUnavailableError: ``backend="cuda"`` and no CUDA device is visible.
        ValueError: a keyword value is out of range or unknown.
    """
    return _json.loads(
        _splatpress.batch(
            inputs,
            output_dir,
            jobs=jobs,
            resume=resume,
            backend=backend,
            sh_iterations=sh_iterations,
            sh_bands=sh_bands,
            seed=seed,
            order=order,
            plas_quality=plas_quality,
            quality=quality,
            webp_effort=webp_effort,
            progress=progress,
        )
    )


def decode(input: PathLike, output: PathLike) -> Dict[str, Any]:
    """Convert any readable scene to a scene file, like ``splatpress convert`` (``decode``).

    The output's name picks the format: ``.ply`` (binary 3DGS PLY, also for other names),
    ``.spz`` (SPZ version 4) or ``.glb`` (glTF with KHR_gaussian_splatting).

    Returns:
        ``{"output": str, "splats": int, "sh_bands": int, "model": str, "read_notes": [str],
        "not_kept": [str]}``: ``not_kept`` names metadata the output format cannot hold.

    Raises:
        InputError, OutputError: the job failed (nothing written).
    """
    return _json.loads(_splatpress.decode(input, output))


def eval(  # noqa: A001 - named after the command, `splatpress eval`
    original: PathLike,
    compressed: PathLike,
    progress: Optional[ProgressCallback] = None,
    *,
    lod: Optional[int] = None,
    render: bool = False,
    views: Optional[int] = None,
    size: Optional[int] = None,
    cameras: Optional[PathLike] = None,
    images: Optional[PathLike] = None,
    kernel: Optional[str] = None,
    render_backend: Optional[str] = None,
) -> Dict[str, Any]:
    """Measure what compression lost, like ``splatpress eval --json``; with ``render=True``
    by pictures, like ``splatpress eval --render --json``.

    Args:
        original: the source scene (sanitised as :func:`compress` would).
        compressed: the compressed scene, in any readable format.
        progress: a callable receiving progress dicts (see the module documentation).
        lod: the level of detail of ``compressed`` when it is a streamed SOG
            (``lod-meta.json``): 0 is full detail (the default, ``None``).
        render: render both scenes from the same cameras with splatpress's own rasteriser
            and compare the pictures (PSNR, SSIM, foreground PSNR) instead of the attributes.
            The keywords below need ``render=True`` (a ``ValueError`` without it).
        views: orbit views to render (default 8); with a ``cameras.json``, at most this many
            of its cameras, evenly spaced.
        size: picture size in pixels, 16 to 8192 (default 512): orbit views are size×size,
            training cameras are scaled down to this longer side.
        cameras: an INRIA ``cameras.json`` to render from; ``None``: the one beside
            ``original`` (or at the trainer's output root), else orbit views.
        images: a folder (created if missing) to write ``view_NN.png`` (original | compressed
            | difference ×8) per view and ``contact_sheet.png`` into.
        kernel: the splat footprint, ``"playcanvas"`` (the default: as SOG viewers draw) or
            ``"standard"`` (the 3DGS reference).
        render_backend: ``"auto"`` (the default: a hardware GPU through wgpu, else the CPU),
            ``"wgpu"`` (any adapter, software ones included) or ``"cpu"``.

    Returns:
        Without ``render``: per-attribute errors of ``compressed`` against ``original``
        (``matching``, ``bbox_diagonal``, ``position``, ``log_scale``, ``rotation_deg``,
        ``opacity``, ``color_dc``, ``color_dc_psnr_db``, …) and both files' ``sizes``.

        With ``render=True``: ``renderer``, ``kernel``, ``renderer_notes``, ``cameras``
        (``"orbit"`` or the file's path), ``splats`` (original, compressed), ``views`` (each
        with ``name``, ``width``, ``height``, ``psnr_db`` (100 for identical pictures),
        ``ssim``, ``masked_psnr_db``, ``foreground``), ``mean`` (``psnr_db``, ``ssim``,
        ``masked_psnr_db``), ``images`` (the paths written) and ``seconds``.

    Raises:
        InputError: either file (or ``cameras``) is missing, unreadable or malformed.
        OutputError: a picture cannot be written into ``images``.
        BackendUnavailableError: ``render_backend="wgpu"`` and no adapter opens.
        ValueError: a keyword value is out of range or unknown, or a render keyword is given
            without ``render=True``.
    """
    if not render:
        given = [
            name
            for name, value in (
                ("views", views),
                ("size", size),
                ("cameras", cameras),
                ("images", images),
                ("kernel", kernel),
                ("render_backend", render_backend),
            )
            if value is not None
        ]
        if given:
            raise ValueError(", ".join(given) + " need render=True")
        return _json.loads(_splatpress.evaluate(original, compressed, progress, lod=lod))
    return _json.loads(
        _splatpress.evaluate_render(
            original,
            compressed,
            views=8 if views is None else views,
            size=512 if size is None else size,
            cameras=cameras,
            images=images,
            kernel="playcanvas" if kernel is None else kernel,
            render_backend="auto" if render_backend is None else render_backend,
            lod=lod,
            progress=progress,
        )
    )


def info(path: PathLike) -> Dict[str, Any]:
    """Summarise a scene, like ``splatpress info --json``.

    Returns:
        ``format``, ``splats``, ``sh_bands``, ``bounds``, value ranges and non-finite counts;
        for SOG inputs also ``sog_conformance_problems`` (empty when the engine accepts it).

    Raises:
        InputError: the file is missing, unreadable or malformed.
    """
    return _json.loads(_splatpress.info(path))


def devices() -> Dict[str, Any]:
    """Every backend and whether it is usable here, like ``splatpress devices --json``.

    Returns:
        ``backends`` (each with ``backend``, ``available`` and ``device`` or ``reason``),
        ``cuda_devices``, ``wgpu_adapters`` and ``auto``: the backend ``backend="auto"``
        would choose.
    """
    return _json.loads(_splatpress.devices())
