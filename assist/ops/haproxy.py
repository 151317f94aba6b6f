"""The HAProxy configuration of a cluster: calls by least connections, everything else to any node.

``/ws/call`` goes to the ``calls`` backend (``balance leastconn``: a call is a long websocket,
so the node with the fewest open calls takes the next one).  Pages, ``/ws/subscribe`` and
``/api`` go to ``any`` (round robin).  Both check every node with ``GET /healthz`` then
``GET /readyz`` (503 while the node drains after SIGTERM), so a draining node gets no new
connection while its current calls go on.  A connection refused by a dead node (before the
check notices) or a 503 from a draining one is retried on another node (``retry-on``,
``option redispatch``), so clients rarely see either.
"""

from __future__ import annotations

from collections.abc import Sequence

# What both backends check on every node; health checks name an allowed Host (the nodes refuse unknown
# Hosts with 421: DNS rebinding).
HEALTH_CHECKS = """    option httpchk
    http-check connect
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    http-check connect
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200"""

def haproxy_config(port: int, nodes: Sequence[tuple[str, int]], *, stats_port: int = 0, check_ms: int = 500) -> str:
    """``nodes``: (name, port) of each ``assist serve`` on 127.0.0.1."""
    servers = "\n".join(
        f"    server {name} 127.0.0.1:{node_port} check inter {check_ms} fall 2 rise 2" for name, node_port in nodes
    )
    stats = (
        f"""
listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /
"""
        if stats_port
        else ""
    )
    return f"""global
    maxconn 4000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 2h
    timeout http-request 10s
    option redispatch
    retries 3
    retry-on conn-failure empty-response 503

frontend assist
    bind 127.0.0.1:{port}
    acl is_call path /ws/call
    use_backend calls if is_call
    default_backend any

backend calls
    balance leastconn
{HEALTH_CHECKS}
{servers}

backend any
    balance roundrobin
{HEALTH_CHECKS}
{servers}
{stats}"""
