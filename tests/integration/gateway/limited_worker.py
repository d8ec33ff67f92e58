"""A gateway worker whose output producer refuses records above N bytes, as a broker would.

``python tests/integration/gateway/limited_worker.py N`` runs the real worker (settings from
the environment, like ``velocity-stream gateway``) with librdkafka's ``message.max.bytes`` set
to N for the outputs: librdkafka then refuses any larger output while queueing it, with the
same error code (MSG_SIZE_TOO_LARGE) a broker's ``max.message.bytes`` gives in a delivery
report. The embedded Tansu broker does not enforce ``max.message.bytes`` at all (it stored a
5 KB record on a topic limited to 1,000 bytes), so this is how a test makes a limit real.
"""

from __future__ import annotations

import sys

from velocity_stream.gateway.runtime.worker import GatewayConfig, run
from velocity_stream.settings import load_settings


def main(argv: list[str]) -> int:
    limit = int(argv[0])
    config = GatewayConfig(expire_interval_s=0.25, output_overrides={"message.max.bytes": limit})
    return run(load_settings(), config)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
