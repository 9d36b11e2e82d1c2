"""The sandbox web: the parts of the internet brandhound's crawlers visit,
generated from a brand profile and served on 127.0.0.1 behind one forward
proxy (plain HTTP in absolute form, and HTTPS through CONNECT).

    truth = build(profile_path, out_dir)          # files, routes, CA, ground truth
    with SandboxWeb(out_dir) as web:              # serve them
        fetch_through(web.proxy_url, "https://www.bazaarhub.com/search?q=kestrava")
"""

from sandbox.web.builder import build
from sandbox.web.server import SandboxWeb

__all__ = ["build", "SandboxWeb"]
