import sys

from anyv2v.cli import main

sys.exit(main())
