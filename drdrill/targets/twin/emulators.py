"""The twin's control plane processes: moto in server mode and the Kubernetes API
emulators, on 127.0.0.1, owned by the lab.

Each is started like one of the lab's own processes (its own session, a pid file in
the lab's ``pids/``, the lab's marker in its environment), so ``drdrill lab down``
ends them whatever happened to the drill that started them. moto records every
request it serves (its recorder) in ``control-plane-trail.jsonl``: the twin's
CloudTrail, which the controller reads for what moto's state does not show (a read
replica's promotion leaves ``describe_db_instances`` unchanged).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import yaml

from drdrill.errors import TargetError
from drdrill.lab import Lab
from drdrill.lab.launch import wait_listening
from drdrill.lab.processes import kill_recorded, recorded, spawn
from drdrill.lab.topology import port_in_use
from drdrill.targets.twin.profile import AwsTwinProfile

__all__ = ["ACCOUNT", "PROCESSES", "ControlPlane", "stop_control_plane"]

ACCOUNT = "123456789012"
"""The account id moto's STS answers with: the twin's only allow-listed account."""
PROCESSES = ("twin-moto", "twin-kube")
_CREDENTIAL = "drdrill-twin"  # a placeholder moto accepts; never a real credential


@dataclass(frozen=True)
class ControlPlane:
    """Where the twin's emulated control plane answers."""

    aws_url: str
    kubeconfig: Path
    trail: Path
    contexts: dict[str, str]

    def session(self) -> boto3.session.Session:
        """A boto3 session holding the emulator's placeholder credentials."""
        return boto3.session.Session(
            aws_access_key_id=_CREDENTIAL, aws_secret_access_key=_CREDENTIAL
        )

    @classmethod
    def of(cls, lab: Lab, profile: AwsTwinProfile) -> ControlPlane:
        """Where the twin of ``lab`` answers (nothing is started)."""
        home = lab.dir / "twin"
        return cls(
            aws_url=f"http://127.0.0.1:{profile.moto_port}",
            kubeconfig=home / "kubeconfig.yaml",
            trail=home / "control-plane-trail.jsonl",
            contexts={region: f"twin-{region}" for region in profile.kube_ports},
        )

    @classmethod
    def start(cls, lab: Lab, profile: AwsTwinProfile) -> ControlPlane:
        """Start moto and the Kubernetes emulators unless they run; where they answer."""
        import importlib.util

        if importlib.util.find_spec("kmock") is None:
            raise TargetError(
                "the AWS twin needs the Kubernetes API emulator kmock: pip install 'drdrill[twin]'"
            )
        plane = cls.of(lab, profile)
        plane.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        live = recorded(lab.pid_dir)
        ours = {"twin-moto": [profile.moto_port], "twin-kube": list(profile.kube_ports.values())}
        taken = [p for n, ports in ours.items() if n not in live for p in ports if port_in_use(p)]
        if taken:
            raise TargetError(
                f"the AWS twin's ports {taken} are taken by another process; expected them "
                "free (targets.<twin>.moto_port / kube_ports)"
            )
        env = {
            **_environment(),
            "MOTO_ENABLE_RECORDING": "true",
            "MOTO_RECORDER_FILEPATH": str(plane.trail),
        }
        if "twin-moto" not in live:
            spawn(
                "twin-moto",
                [
                    sys.executable,
                    "-m",
                    "moto.server",
                    "-H",
                    "127.0.0.1",
                    "-p",
                    f"{profile.moto_port}",
                ],
                pid_dir=lab.pid_dir,
                log_path=lab.log_dir / "twin-moto.log",
                env=env,
                marker=str(lab.dir),
            )
        if "twin-kube" not in live:
            ports = [a for p in profile.kube_ports.values() for a in ("--port", str(p))]
            spawn(
                "twin-kube",
                [sys.executable, "-m", "drdrill.targets.twin.kube_api", *ports],
                pid_dir=lab.pid_dir,
                log_path=lab.log_dir / "twin-kube.log",
                env=_environment(),
                marker=str(lab.dir),
            )
        try:
            for port in (profile.moto_port, *profile.kube_ports.values()):
                wait_listening(port, timeout=60)
        except Exception as exc:
            raise TargetError(
                f"the AWS twin's emulators did not start (logs: {lab.log_dir}/twin-*.log): {exc}"
            ) from exc
        plane.kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": r, "cluster": {"server": f"http://127.0.0.1:{p}"}}
                        for r, p in profile.kube_ports.items()
                    ],
                    "contexts": [
                        {"name": c, "context": {"cluster": r, "user": "twin"}}
                        for r, c in plane.contexts.items()
                    ],
                    "users": [{"name": "twin", "user": {"token": _CREDENTIAL}}],
                    "current-context": plane.contexts["primary"],
                }
            )
        )
        return plane


def _environment() -> dict[str, str]:
    """The emulators' environment: this one's, minus every AWS setting (a real profile or
    key must not reach them), plus moto's placeholder credentials."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=_CREDENTIAL, AWS_SECRET_ACCESS_KEY=_CREDENTIAL)
    return env


def stop_control_plane(lab: Lab) -> None:
    """End the twin's emulators (the lab keeps running)."""
    kill_recorded(lab.pid_dir, list(PROCESSES))
