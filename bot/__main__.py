"""`python -m bot` runs the `campaignbot` command line."""

import sys

from bot.cli import main

sys.exit(main())
