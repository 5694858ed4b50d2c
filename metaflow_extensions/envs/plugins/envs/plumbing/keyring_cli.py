"""Asking the `keyring` command for an index's credentials, the way uv's
`--keyring-provider subprocess` does: `keyring get <service> <username>` when the username is
known, else `keyring get <service> --mode creds` (keyring >= 25.2.1), for the URL first and
then its host[:port]. The answer travels over a pipe and stays in memory."""
import shutil
import subprocess
from typing import Optional, Tuple
from urllib.parse import urlsplit

UserPass = Tuple[str, str]

_TIMEOUT = 120  # a cloud backend may fetch a token over the network


def keyring_services(url: str) -> Tuple[str, ...]:
    """What uv asks the keyring for a URL, in order: the URL (without userinfo), its host[:port]."""
    parts = urlsplit(url)
    if not parts.hostname:
        return ()
    host = parts.netloc.rsplit("@", 1)[-1]
    return (parts._replace(netloc=host).geturl(), host)


def keyring_get(service: str, username: Optional[str]) -> Optional[UserPass]:
    """The keyring command's answer for `service`; None when it has none or cannot run."""
    command = shutil.which("keyring")
    if command is None:
        return None
    args = [command, "get", service] + ([username] if username else ["--mode", "creds"])
    try:
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    if username:
        return username, proc.stdout.rstrip("\r\n")
    lines = proc.stdout.splitlines()
    if len(lines) < 2:
        return None
    return lines[0], lines[1]
