"""Prints its working directory and the RXCLAUDE_TEST variable as one JSON line."""

import json
import os

print(json.dumps({"cwd": os.getcwd(), "RXCLAUDE_TEST": os.environ.get("RXCLAUDE_TEST")}))
