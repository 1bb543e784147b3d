"""``python -m quantmm``: the same command line as the ``quantmm`` console script."""

from quantmm.cli import main

raise SystemExit(main())
