"""``python -m shipyard.cli``"""

from shipyard.cli.main import main

main()
