"""`python -m shared.cli`: the `reqrep` command."""

import sys

from shared.cli.commands import main

sys.exit(main())
