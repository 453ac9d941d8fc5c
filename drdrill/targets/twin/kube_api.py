"""The twin's Kubernetes API: one kmock emulator per EKS cluster, in one process.

Run as ``python -m drdrill.targets.twin.kube_api --port P [--port Q ...]``. Each
emulator serves the bundled Kubernetes resources over HTTP on 127.0.0.1 from its own
thread and event loop (kmock's emulator is asyncio; the kubernetes client blocks). It
runs no controllers: the twin's controller fills deployment status.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import threading

__all__ = ["main"]


def _serve(port: int, ready: threading.Event) -> None:
    import kmock

    async def serve() -> None:
        async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator, port=port):
            emulator.resources.load_bundled()
            ready.set()
            await asyncio.Event().wait()  # until the process ends

    asyncio.run(serve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, action="append", required=True)
    args = parser.parse_args(argv)
    for port in args.port:
        ready = threading.Event()
        threading.Thread(target=_serve, args=(port, ready), daemon=True).start()
        if not ready.wait(30):
            raise SystemExit(f"the Kubernetes API emulator on port {port} did not start")
    print(f"serving Kubernetes API emulators on 127.0.0.1:{args.port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
