"""The ``splatpress`` console command: the same command-line program as the Rust binary."""

import signal
import sys
from typing import List, Optional

from . import _splatpress


def main(argv: Optional[List[str]] = None) -> None:
    """Run ``splatpress`` with ``argv`` (default ``sys.argv``, program name first) and exit
    with its status: 0 success, 1 failure (``splatpress: error: ...`` on stderr), 2 usage error.
    """
    args = list(sys.argv if argv is None else argv)
    if args:
        # Shown by --help and usage errors as the program name, as the Rust binary shows it.
        args[0] = "splatpress"
    # The command runs with the GIL released, where Python's own Ctrl-C handler would only
    # act once it returned: let Ctrl-C stop the process at once, as it stops the binary.
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(_splatpress.run_cli(args))


if __name__ == "__main__":
    main()
