import sys

from pykeepalived.daemon.signals import block_handled

block_handled()  # before any other import: see daemon.signals

from pykeepalived.cli import main  # noqa: E402

sys.exit(main())
