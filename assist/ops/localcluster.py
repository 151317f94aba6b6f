"""A whole cluster on 127.0.0.1: PostgreSQL, Redis, HAProxy and N ``assist serve`` nodes.

For development (``scripts/cluster up|down|status``), the cluster tests and the benchmark.
Nodes run ``python -m assist serve --no-model`` by default (transcript-source calls, little
CPU); ``model=True`` loads the installed speech model instead.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from assist.ops.haproxy import haproxy_config
from assist.ops.services import HAProxy, Postgres, Redis, ServiceError, free_port, wait_port


@dataclass
class Node:
    name: str
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class LocalCluster:
    root: Path
    nodes: int = 3
    model: bool = False
    drain_seconds: float = 30.0
    extra_args: tuple[str, ...] = ()
    postgres: Postgres = field(init=False)
    redis: Redis = field(init=False)
    haproxy: HAProxy | None = field(default=None, init=False)
    members: list[Node] = field(default_factory=list, init=False)
    port: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.postgres = Postgres(self.root / "postgres")
        self.redis = Redis(self.root / "redis")

    @property
    def url(self) -> str:
        """HAProxy's websocket base URL (what clients and pages use)."""
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # PostgreSQL runs as another user and needs to reach its data directory
        self.postgres.start()
        self.redis.start()
        self.members = [Node(f"node{i + 1}", free_port()) for i in range(self.nodes)]
        for node in self.members:
            self.start_node(node, wait=False)
        for node in self.members:
            self.wait_ready(node)
        self.port = free_port()
        config = haproxy_config(self.port, [(n.name, n.port) for n in self.members], stats_port=free_port())
        stats_port = int(config.split("listen stats\n    bind 127.0.0.1:")[1].split()[0])
        self.haproxy = HAProxy(self.root / "haproxy", config, self.port, stats_port)
        self.haproxy.start()
        self.write_state()

    def node_env(self, node: Node) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "ASSIST_DATABASE_URL": self.postgres.url,
            "ASSIST_REDIS_URL": self.redis.url,
            "ASSIST_NODE_ID": node.name,
            "ASSIST_DRAIN_SECONDS": str(self.drain_seconds),
            "ASSIST_AUTH": "off",
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def start_node(self, node: Node, *, wait: bool = True) -> None:
        args = [sys.executable, "-m", "assist", "serve", "--port", str(node.port), "--log-level", "INFO",
                *(() if self.model else ("--no-model",)), *self.extra_args]
        log = open(self.root / f"{node.name}.log", "ab")  # noqa: SIM115 - the child keeps it
        node.proc = subprocess.Popen(args, env=self.node_env(node), stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if wait:
            self.wait_ready(node)

    def wait_ready(self, node: Node, timeout: float = 60.0) -> None:
        wait_port(node.port, timeout, node.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{node.port}/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise ServiceError(f"{node.name} is not ready")

    def kill_node(self, node: Node) -> None:
        """``kill -9``: no drain, no goodbye."""
        if node.proc is not None and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGKILL)
            node.proc.wait()

    def stop_node(self, node: Node, timeout: float = 60.0) -> int | None:
        """SIGTERM: the node drains, then exits; its exit code."""
        if node.proc is None or node.proc.poll() is not None:
            return None if node.proc is None else node.proc.returncode
        node.proc.send_signal(signal.SIGTERM)
        try:
            return node.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            return node.proc.wait()

    def stop(self) -> None:
        if self.haproxy is not None:
            self.haproxy.stop()
        for node in self.members:
            self.stop_node(node, timeout=20)
        self.redis.stop()
        self.postgres.stop()
        (self.root / "cluster.json").unlink(missing_ok=True)

    def write_state(self) -> None:
        state = {
            "url": self.url,
            "database_url": self.postgres.url,
            "redis_url": self.redis.url,
            "haproxy_stats": f"http://127.0.0.1:{self.haproxy.stats_port}/" if self.haproxy else None,
            "pids": {
                "postgres": self.postgres.proc.pid if self.postgres.proc else None,
                "redis": self.redis.proc.pid if self.redis.proc else None,
                "haproxy": self.haproxy.proc.pid if self.haproxy and self.haproxy.proc else None,
                **{n.name: n.proc.pid if n.proc else None for n in self.members},
            },
            "nodes": {n.name: n.port for n in self.members},
        }
        (self.root / "cluster.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
