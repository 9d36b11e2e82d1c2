"""A private Tor network on 127.0.0.1 for tests and the demo: real ``tor`` processes with
``TestingTorNetwork 1``, onion services (v3) in front of local ports, and a client with
SocksPorts and a ControlPort.

    with TorNetwork(base_dir, onion_services={"shop": 8080}) as net:
        http_get(f"http://{net.onion_address('shop')}/", net.client_socks_port)
"""

from sandbox.tor.network import Node, TorNetwork, TorNetworkError
from sandbox.tor.socks import ProxyUnreachableError, SocksError, http_get, socks5_connect

__all__ = ["Node", "TorNetwork", "TorNetworkError", "ProxyUnreachableError", "SocksError", "http_get",
           "socks5_connect"]
