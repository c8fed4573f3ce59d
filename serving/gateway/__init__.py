"""The wristband gateway: bands in over TCP (protocol v1), every sample journaled before it is acknowledged.

`python -m serving.gateway --port 7100` runs it; `python -m serving.gateway.emulate` plays recordings as bands.
"""

from serving.gateway.journal import Journal, StreamState
from serving.gateway.server import Gateway

__all__ = ["Gateway", "Journal", "StreamState"]
