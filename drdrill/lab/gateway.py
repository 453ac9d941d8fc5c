"""A region's network gateway: a TCP proxy in front of everything other regions reach.

The edge reaches a region's workers, and the other region's standby reaches its
database, only through this gateway. ``SIGUSR1`` cuts the link (a partition:
new connections hang, open ones stop carrying data, both sides keep running);
``SIGUSR2`` heals it. This kernel has no netem and no toxiproxy, hence this.

Run as ``python -m drdrill.lab.gateway LISTEN:UPSTREAM [LISTEN:UPSTREAM ...]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

__all__ = ["Gateway", "main"]


class Gateway:
    """Forwards 127.0.0.1:listen → 127.0.0.1:upstream for each pair while the link is up."""

    def __init__(self, routes: dict[int, int], state_file: str | None = None) -> None:
        self.routes = routes
        self.state_file = state_file
        self.link_up = asyncio.Event()
        self.link_up.set()

    def _set_link(self, up: bool) -> None:
        """Cut or heal, then say so in the state file: the lab waits for it, so a fault's
        t_fault is stamped only once the cut is in force."""
        if up:
            self.link_up.set()
        else:
            self.link_up.clear()
        if self.state_file:
            with open(self.state_file, "w") as out:
                out.write("up" if up else "cut")

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self.link_up.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(
        self, upstream: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await self.link_up.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, self._set_link, False)
        loop.add_signal_handler(signal.SIGUSR2, self._set_link, True)
        self._set_link(True)
        servers = []
        for listen, upstream in self.routes.items():

            async def handle(
                r: asyncio.StreamReader, w: asyncio.StreamWriter, up: int = upstream
            ) -> None:
                await self._serve(up, r, w)

            servers.append(
                await asyncio.start_server(handle, "127.0.0.1", listen, reuse_address=True)
            )
        await asyncio.gather(*(s.serve_forever() for s in servers))


def main() -> None:
    routes = {}
    for pair in sys.argv[1:]:
        listen, _, upstream = pair.partition(":")
        routes[int(listen)] = int(upstream)
    asyncio.run(Gateway(routes, os.environ.get("DRDRILL_GATEWAY_STATE")).run())


if __name__ == "__main__":
    main()
