import sys

from drdrill.cli import main

sys.exit(main())
