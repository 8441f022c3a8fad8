#!/usr/bin/env python3
"""Compress every scene under a folder to SOG with Ray Data, one Ray task per scene.

Usage (a local Ray instance, or the cluster that ``--address``/``RAY_ADDRESS`` names)::

    python deploy/ray/compress_scenes.py INPUT_DIR OUTPUT_DIR [--address auto] [--workers N]
        [--seed S] [--backend auto|cuda|wgpu|cpu] [--sh-iterations I] [--sh-bands B]
        [--webp-effort E] [--order morton|plas] [--plas-quality fast|default|best]

Scenes are found under INPUT_DIR recursively: files ending in ``.ply``, ``.compressed.ply``,
``.splat`` or ``.sog``, and folders holding a ``meta.json`` (one SOG scene each; nothing inside
them is looked at separately). OUTPUT_DIR, when inside INPUT_DIR, is skipped. Each output
mirrors its input's relative path with the scene suffix replaced by ``.sog``
(``a/b/x.compressed.ply`` -> ``a/b/x.sog``, the SOG folder ``a/scene/`` -> ``a/scene.sog``).

Every task calls :func:`splatpress.compress` on one scene. When the cluster has GPUs each task
asks for ``num_gpus=1``, so Ray sets ``CUDA_VISIBLE_DEVICES`` to the GPU it was given and
``backend="auto"`` uses that one; otherwise each task asks for one CPU. ``--workers`` tasks
run at once (default: the cluster's GPU count, else 2). The inputs and OUTPUT_DIR must be
paths that every node sees (a shared or network file system) and every node needs the
``splatpress`` wheel.

A scene that fails is recorded and the others go on. ``OUTPUT_DIR/summary.json`` lists every
scene (``input``, ``output``, ``status``, ``error``, ``bytes_in``, ``bytes_out``, ``ratio``,
``seconds``, ``backend``, ``device``), the ``totals`` and the ``workers``; the exit status is 1
when any scene failed. As a module, :func:`run` does the same and returns the summary.
"""

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

# Longest first: "x.compressed.ply" is a compressed PLY, not a PLY named "x.compressed".
SUFFIXES = (".compressed.ply", ".ply", ".splat", ".sog")
SUMMARY = "summary.json"


def scene_stem(name: str) -> Optional[str]:
    """``name`` less its scene suffix (matched case-insensitively), or None if it has none."""
    lower = name.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def find_scenes(input_dir: Path, output_dir: Path) -> List[Tuple[Path, Path]]:
    """Every scene under ``input_dir`` as (input path, output path relative to the output
    folder), sorted by input path. ``output_dir`` and everything under it is skipped."""
    input_dir = input_dir.resolve()
    output_dir = output_dir.resolve()
    if (input_dir / "meta.json").is_file():
        return [(input_dir, Path(input_dir.name + ".sog"))]
    scenes = []
    for folder, subdirs, files in os.walk(input_dir):
        here = Path(folder)
        kept = []
        for name in sorted(subdirs):
            sub = here / name
            if sub == output_dir:
                continue
            if (sub / "meta.json").is_file():
                # A SOG folder: one scene; its meta.json and WebPs are not looked at alone.
                stem = scene_stem(name) or name
                scenes.append((sub, sub.relative_to(input_dir).with_name(stem + ".sog")))
            else:
                kept.append(name)
        subdirs[:] = kept
        for name in files:
            stem = scene_stem(name)
            if stem is not None:
                path = here / name
                scenes.append((path, path.relative_to(input_dir).with_name(stem + ".sog")))
    return sorted(scenes, key=lambda scene: str(scene[0]))


def size_of(path: Path) -> int:
    """Bytes in a file, or in all the files of a folder."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def failed(row: Dict[str, Any], error: Optional[str] = None) -> Dict[str, Any]:
    """A scene's entry in the summary, as it stands before (or without) compressing it."""
    return {"input": row["input"], "output": row["output"], "status": "failed", "error": error,
            "bytes_in": None, "bytes_out": None, "ratio": None, "seconds": None,
            "backend": None, "device": None}


def compress_row(row: Dict[str, Any], options: Dict[str, Any]) -> Dict[str, Any]:
    """Compress one scene (a Ray Data row); runs in a Ray worker. Never raises for a scene
    that cannot be compressed: the row comes back with ``status`` "failed" and the error."""
    import splatpress  # on the worker, which may not be the driver's machine

    source, target = Path(row["input"]), Path(row["output"])
    result = dict(failed(row), worker=f"{socket.gethostname()}:{os.getpid()}")
    start = time.perf_counter()
    try:
        result["bytes_in"] = size_of(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        # The library writes atomically: a failed job leaves nothing at the output path.
        report = splatpress.compress(str(source), str(target), **options)
    except (splatpress.SplatpressError, OSError) as error:
        result["error"] = f"{type(error).__name__}: {error}"
    else:
        out = size_of(target)  # the bundle: its files (report["written"]) and a zip's overhead
        result.update(status="ok", bytes_out=out, backend=report["backend"]["chosen"],
                      device=report["backend"]["device"])
        result["ratio"] = round(result["bytes_in"] / out, 3) if out else None
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def write_json_atomically(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and an atomic rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def run(input_dir, output_dir, *, workers: Optional[int] = None, address: Optional[str] = None,
        **compress_options: Any) -> Dict[str, Any]:
    """Compress every scene under ``input_dir`` into ``output_dir`` on Ray; return the summary
    that is also written to ``output_dir/summary.json``.

    Args:
        input_dir, output_dir: the folders (``output_dir`` is created).
        workers: tasks at once; default the cluster's GPU count, else 2.
        address: passed to ``ray.init`` when Ray is not initialised yet (None: ``RAY_ADDRESS``
            or a new local instance). An initialised Ray is used as it is and left running.
        compress_options: keywords of :func:`splatpress.compress` (``seed``, ``backend``,
            ``sh_iterations``, ``sh_bands``, ``webp_effort``, ``order``, ``plas_quality``).
    """
    import ray
    import ray.cloudpickle

    input_dir, output_dir = Path(input_dir).resolve(), Path(output_dir).resolve()
    if not input_dir.is_dir():
        raise NotADirectoryError(f"input folder {input_dir} is not a folder")
    output_dir.mkdir(parents=True, exist_ok=True)
    if not ray.is_initialized():
        ray.init(address=address)
    # Imported by path (not as a package), this module cannot be imported by name on the
    # workers: have its functions sent by value (as they are when run as a script).
    if __name__ != "__main__" and __name__ in sys.modules:
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

    gpus = int(ray.cluster_resources().get("GPU", 0))
    workers = workers or gpus or 2
    per_task = {"num_gpus": 1} if gpus > 0 else {"num_cpus": 1}

    start = time.perf_counter()
    scenes = find_scenes(input_dir, output_dir)
    rows, results, owners = [], [], {}
    for source, rel in scenes:
        row = {"input": str(source), "output": str(output_dir / rel)}
        if row["output"] in owners:  # e.g. x.ply and x.splat: compress neither twice
            results.append(failed(row, f"OutputError: {owners[row['output']]} has this output"))
        else:
            owners[row["output"]] = row["input"]
            rows.append(row)
    if rows:
        import ray.data

        pool = getattr(ray.data, "TaskPoolStrategy", None)  # `concurrency=` is deprecated
        limit = {"compute": pool(size=workers)} if pool else {"concurrency": workers}
        # Ray Data reserves part of the cluster for each operator of a pipeline, so that one
        # cannot starve the next; with a single operator that only holds back half the
        # workers until the first tasks are done. The dataset keeps a copy of the context.
        context = ray.data.DataContext.get_current()
        reserving = getattr(context, "op_resource_reservation_enabled", None)
        if reserving:
            context.op_resource_reservation_enabled = False
        try:
            dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        finally:
            if reserving:
                context.op_resource_reservation_enabled = True
        dataset = dataset.map(compress_row, fn_kwargs={"options": compress_options},
                              **per_task, **limit)
        results += dataset.take_all()
    seconds = time.perf_counter() - start

    processes: Dict[str, int] = {}
    for result in results:
        worker = result.pop("worker", None)
        if worker:
            processes[worker] = processes.get(worker, 0) + 1
    results.sort(key=lambda r: r["input"])
    ok = [r for r in results if r["status"] == "ok"]
    summary = {
        "input_dir": str(input_dir),
        "output_dir": str(output_dir),
        "options": compress_options,
        "scenes": results,
        # Bytes of the scenes that were compressed; seconds of the whole run, wall clock.
        "totals": {
            "ok": len(ok),
            "failed": len(results) - len(ok),
            "bytes_in": sum(r["bytes_in"] for r in ok),
            "bytes_out": sum(r["bytes_out"] for r in ok),
            "seconds": round(seconds, 3),
        },
        "workers": {
            "concurrency": workers,
            "per_task": per_task,
            "cluster_gpus": gpus,
            "processes": dict(sorted(processes.items())),  # "host:pid": scenes it ran
        },
    }
    write_json_atomically(output_dir / SUMMARY, summary)
    return summary


def main(argv: Optional[List[str]] = None) -> int:
    """The command line; returns the exit status (1 when any scene failed)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input_dir", type=Path)
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--address", help="Ray cluster to join (e.g. auto); default: "
                        "RAY_ADDRESS, else a new local instance")
    parser.add_argument("--workers", type=int, help="tasks at once (default: GPUs, else 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="auto", choices=["auto", "cuda", "wgpu", "cpu"])
    parser.add_argument("--sh-iterations", type=int, default=10)
    parser.add_argument("--sh-bands", type=int, choices=range(4), default=None)
    parser.add_argument("--webp-effort", type=int, choices=range(10), default=2)
    parser.add_argument("--order", default="morton", choices=["morton", "plas"])
    parser.add_argument("--plas-quality", default="default", choices=["fast", "default", "best"])
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")

    options = {key: getattr(args, key) for key in ("seed", "backend", "sh_iterations", "sh_bands",
                                                   "webp_effort", "order", "plas_quality")}
    try:
        summary = run(args.input_dir, args.output_dir, workers=args.workers,
                      address=args.address, **options)
    except OSError as error:
        print(f"compress_scenes: error: {error}", file=sys.stderr)
        return 2
    for scene in summary["scenes"]:
        if scene["status"] == "ok":
            print(f"ok      {scene['input']} -> {scene['output']} ({scene['bytes_in']} -> "
                  f"{scene['bytes_out']} bytes, {scene['seconds']} s, {scene['backend']})")
        else:
            print(f"FAILED  {scene['input']}: {scene['error']}")
    totals = summary["totals"]
    print(f"{totals['ok']} ok, {totals['failed']} failed in {totals['seconds']} s; summary: "
          f"{Path(summary['output_dir']) / SUMMARY}")
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
