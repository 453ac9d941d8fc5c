"""A region's network gateway: a TCP proxy in front of everything other regions reach.

The edge reaches a region's workers, and the other region reaches its database
(replication, workers pointed across regions), only through this gateway. A
cut route is a partition: new connections hang, open ones stop carrying data,
both sides keep running. This kernel has no netem and no toxiproxy, hence this.

Control: the lab writes the listen ports to cut (a JSON list) to the control
file and sends ``SIGUSR1``; without a control file ``SIGUSR1`` cuts every route.
``SIGUSR2`` heals every route. After each change the gateway writes the cut
ports (a sorted JSON list, ``[]`` when all is up) to its state file: the lab
waits for it, so a fault is in force when the lab says so.

Run as ``python -m drdrill.lab.gateway LISTEN:UPSTREAM [LISTEN:UPSTREAM ...]``
with ``DRDRILL_GATEWAY_STATE`` / ``DRDRILL_GATEWAY_CONTROL`` naming the two files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

__all__ = ["Gateway", "main"]


class Gateway:
    """Forwards 127.0.0.1:listen → 127.0.0.1:upstream for each route while it is not cut."""

    def __init__(
        self,
        routes: dict[int, int],
        state_file: str | None = None,
        control_file: str | None = None,
    ) -> None:
        self.routes = routes
        self.state_file = state_file
        self.control_file = control_file
        self.links = {listen: asyncio.Event() for listen in routes}

    def _wanted_cut(self) -> set[int]:
        """The routes the control file asks to cut (all of them without a control file)."""
        if not self.control_file:
            return set(self.routes)
        try:
            wanted = json.loads(Path(self.control_file).read_text())
            return {int(port) for port in wanted} & set(self.routes)
        except (OSError, ValueError, TypeError):
            return set(self.routes)

    def _apply(self, cut: set[int]) -> None:
        """Cut or heal each route, then say so in the state file (atomically)."""
        for listen, link in self.links.items():
            if listen in cut:
                link.clear()
            else:
                link.set()
        if self.state_file:
            tmp = f"{self.state_file}.tmp"
            with open(tmp, "w") as out:
                out.write(json.dumps(sorted(cut)))
            os.replace(tmp, self.state_file)

    async def _pump(
        self, link: asyncio.Event, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while data := await reader.read(65536):
                await link.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(
        self, listen: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        link = self.links[listen]
        await link.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.routes[listen])
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pump(link, reader, up_writer), self._pump(link, up_reader, writer)
        )

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, lambda: self._apply(self._wanted_cut()))
        loop.add_signal_handler(signal.SIGUSR2, self._apply, set())
        servers = []
        for listen in self.routes:

            async def handle(
                r: asyncio.StreamReader, w: asyncio.StreamWriter, port: int = listen
            ) -> None:
                await self._serve(port, r, w)

            servers.append(
                await asyncio.start_server(handle, "127.0.0.1", listen, reuse_address=True)
            )
        self._apply(set())  # listening, healed, and ready for signals
        await asyncio.gather(*(s.serve_forever() for s in servers))


def main() -> None:
    routes = {}
    for pair in sys.argv[1:]:
        listen, _, upstream = pair.partition(":")
        routes[int(listen)] = int(upstream)
    gateway = Gateway(
        routes,
        os.environ.get("DRDRILL_GATEWAY_STATE"),
        os.environ.get("DRDRILL_GATEWAY_CONTROL"),
    )
    asyncio.run(gateway.run())


if __name__ == "__main__":
    main()
