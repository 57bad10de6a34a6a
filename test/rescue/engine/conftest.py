"""pytest setup for the engine's unit tests: the package rescue/engine/ imported from the tree (as
the launcher rescue/repair-disk runs it), never from an installed or built copy."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "rescue"))
