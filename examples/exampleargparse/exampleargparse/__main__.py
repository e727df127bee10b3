import sys

from exampleargparse.cli import main

sys.exit(main())
