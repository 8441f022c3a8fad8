"""Type stubs of the compiled module; the documented API is in ``splatpress/__init__.py``."""

import os
from typing import Any, Callable, Dict, List, Optional, Union

_Path = Union[str, "os.PathLike[str]"]
_Callback = Callable[[Dict[str, Any]], Any]

__version__: str

class SplatpressError(Exception): ...
class InputError(SplatpressError): ...
class OutputError(SplatpressError): ...
class BackendUnavailableError(SplatpressError): ...

def compress(
    input: Optional[_Path],
    output: _Path,
    *,
    backend: str,
    sh_iterations: int,
    sh_bands: Optional[int],
    seed: int,
    order: str,
    plas_quality: str,
    quality: str,
    webp_effort: int,
    sample_count: Optional[int],
    sample_bands: int,
    progress: Optional[_Callback],
) -> str: ...
def batch(
    inputs: _Path,
    output_dir: _Path,
    *,
    jobs: Optional[int],
    resume: bool,
    backend: str,
    sh_iterations: int,
    sh_bands: Optional[int],
    seed: int,
    order: str,
    plas_quality: str,
    quality: str,
    webp_effort: int,
    progress: Optional[_Callback],
) -> str: ...
def decode(input: _Path, output: _Path) -> str: ...
def evaluate(
    original: _Path,
    compressed: _Path,
    progress: Optional[_Callback],
    *,
    lod: Optional[int] = None,
) -> str: ...
def evaluate_render(
    original: _Path,
    compressed: _Path,
    *,
    views: int,
    size: int,
    cameras: Optional[_Path],
    images: Optional[_Path],
    kernel: str,
    render_backend: str,
    lod: Optional[int],
    progress: Optional[_Callback],
) -> str: ...
def info(path: _Path) -> str: ...
def devices() -> str: ...
def run_cli(argv: List[str]) -> int: ...
