"""``python -m brandhound.commands``: the command line, as the crawl subprocesses start it."""

import sys

from brandhound.commands import main

sys.exit(main())
