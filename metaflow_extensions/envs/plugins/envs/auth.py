"""Per-host credentials for channels, indexes and downloads.

Sources, first match wins: `METAFLOW_CONDA_SRCS_AUTH_INFO` (JSON `{host: [user, password]}`, in
the environment or a Metaflow profile), `user:pass@` in a channel or index URL of the request,
pip's configuration (index-url and extra-index-url), then netrc, then (with
METAFLOW_CONDA_PYPI_KEYRING_PROVIDER=subprocess) the `keyring` command, as uv asks it. Credentials live only in memory: every URL that is stored,
logged or shown goes through `strip_credentials` first, and `redact` removes known passwords
from any text (tool output, error messages).
"""
import base64
import netrc
import os
import re
from typing import Any, Dict, Iterable, List, Optional, Tuple
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from . import settings
from .plumbing.keyring_cli import keyring_get, keyring_services
from .plumbing.pip_config import pip_settings

# Userinfo runs up to the LAST '@' before the path: a raw password may itself contain '@'.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s\"']+@")

UserPass = Tuple[str, str]


def strip_credentials(text: str) -> str:
    """Remove `user:pass@` from every URL in `text`."""
    return _USERINFO.sub(r"\g<scheme>", text)


def strip_credentials_deep(value: Any) -> Any:
    if isinstance(value, str):
        return strip_credentials(value)
    if isinstance(value, dict):
        return {k: strip_credentials_deep(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(strip_credentials_deep(v) for v in value)
    return value


def _url_userinfo(url: str) -> Optional[Tuple[str, UserPass]]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.username is None or not parts.hostname:
        return None
    return parts.netloc.rsplit("@", 1)[1], (unquote(parts.username), unquote(parts.password or ""))


_PIP_INDEX_KEYS = ("index-url", "extra-index-url")


def _pip_config_urls() -> List[str]:
    """Every URL of pip's index settings (any section): where credentials may be written."""
    return [url for setting in pip_settings() if setting.key in _PIP_INDEX_KEYS for url in setting.items]


class Credentials:
    """Resolves the credentials for a URL. Built once per operation and passed down."""

    def __init__(self, by_host: Optional[Dict[str, UserPass]] = None) -> None:
        self._by_host: Dict[str, UserPass] = dict(by_host or {})
        self._netrc: Optional[netrc.netrc] = None
        self._netrc_loaded = False
        # The keyring command's answers, by host[:port]: asked once per host per operation
        # (a cloud backend may fetch a token each time), never stored anywhere else.
        self._keyring: Dict[str, Optional[UserPass]] = {}

    @classmethod
    def from_environment(cls, urls: Iterable[str] = ()) -> "Credentials":
        by_host: Dict[str, UserPass] = {}
        # Lowest priority first; later sources overwrite.
        for url in _pip_config_urls():
            found = _url_userinfo(url)
            if found:
                by_host[found[0]] = found[1]
        for url in urls:
            found = _url_userinfo(url)
            if found:
                by_host[found[0]] = found[1]
        # The environment, else a Metaflow profile (where it may be JSON already); checked there.
        for host, (user, password) in (settings.value("CONDA_SRCS_AUTH_INFO") or {}).items():
            by_host[host] = (user, password)
        return cls(by_host)

    def _netrc_lookup(self, host: str) -> Optional[UserPass]:
        if not self._netrc_loaded:
            self._netrc_loaded = True
            path = os.environ.get("NETRC") or os.path.expanduser("~/.netrc")
            if os.path.isfile(path):
                try:
                    self._netrc = netrc.netrc(path)
                except (netrc.NetrcParseError, OSError):
                    self._netrc = None
        if self._netrc is None:
            return None
        found = self._netrc.authenticators(host)
        if not found:
            return None
        login, _, password = found
        return (login or "", password or "")

    def for_url(self, url: str) -> Optional[UserPass]:
        found = self._configured(url)
        if (found is None or not found[1]) and settings.value("CONDA_PYPI_KEYRING_PROVIDER") == "subprocess":
            return self._keyring_lookup(url, found[0] if found else None) or found
        return found

    def _configured(self, url: str) -> Optional[UserPass]:
        inline = _url_userinfo(url)
        if inline:
            return inline[1]
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if not parts.hostname:
            return None
        netloc = parts.netloc.rsplit("@", 1)[-1]
        for key in (netloc, parts.hostname):
            if key in self._by_host:
                return self._by_host[key]
        return self._netrc_lookup(parts.hostname)

    def _keyring_lookup(self, url: str, username: Optional[str]) -> Optional[UserPass]:
        """What the keyring command gives for `url` (a username known from elsewhere is
        passed on, as uv does), asked for the URL then its host; once per host."""
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            return None
        services = keyring_services(url)
        if not services:
            return None
        host = services[-1]
        if host not in self._keyring:
            self._keyring[host] = next(
                (pair for pair in (keyring_get(service, username or None) for service in services) if pair), None)
        return self._keyring[host]

    def headers_for(self, url: str) -> Dict[str, str]:
        pair = self.for_url(url)
        if not pair:
            return {}
        token = base64.b64encode(("%s:%s" % pair).encode("utf-8")).decode("ascii")
        return {"Authorization": "Basic " + token}

    def with_userinfo(self, url: str) -> str:
        """The URL with credentials inlined: only for handing to a tool (uv) in memory."""
        pair = self.for_url(url)
        parts = urlsplit(url)
        if not pair or parts.username is not None:
            return url
        netloc = "%s:%s@%s" % (quote(pair[0], safe=""), quote(pair[1], safe=""), parts.netloc)
        return urlunsplit(parts._replace(netloc=netloc))

    def any_known(self) -> bool:
        """Whether any credentials at all are configured (netrc included)."""
        self._netrc_lookup("")
        return bool(self._by_host) or bool(self._netrc and self._netrc.hosts)

    def _passwords(self) -> List[str]:
        self._netrc_lookup("")
        passwords = [p for _, p in self._by_host.values()]
        passwords += [entry[2] for entry in (self._netrc.hosts.values() if self._netrc else ())]
        passwords += [pair[1] for pair in self._keyring.values() if pair]
        return [p for p in passwords if p]

    def redact(self, text: str) -> str:
        """`text` without URL userinfo nor any known password, raw or percent-encoded."""
        text = strip_credentials(text)
        # Longest first, so no shorter password leaves part of a longer one behind.
        for password in sorted(self._passwords(), key=len, reverse=True):
            text = _any_spelling(password).sub("****", text)
        return text


def git_auth_env(urls: Iterable[str], credentials: Credentials) -> Dict[str, str]:
    """Git configuration, through the environment (GIT_CONFIG_COUNT, git >= 2.31), sending
    the credentials of each HTTP(S) URL's origin as an Authorization header to that origin
    only. Git would otherwise need them in the URL, on its command line, where every user of
    the machine can read them (/proc/*/cmdline). Entries the caller set are kept."""
    given = os.environ.get("GIT_CONFIG_COUNT", "")
    count = int(given) if given.isdigit() else 0
    env: Dict[str, str] = {}
    for url in urls:
        parts = urlsplit(url)
        header = credentials.headers_for(url).get("Authorization")
        if header and parts.scheme.lower() in ("http", "https"):
            origin = "%s://%s/" % (parts.scheme, parts.netloc.rsplit("@", 1)[-1])
            env["GIT_CONFIG_KEY_%d" % count] = "http.%s.extraHeader" % origin
            env["GIT_CONFIG_VALUE_%d" % count] = "Authorization: " + header
            count += 1
    if env:
        env["GIT_CONFIG_COUNT"] = str(count)
    return env


def _any_spelling(password: str) -> "re.Pattern[str]":
    """Matches `password` with any of its characters written raw or percent-encoded (either
    case of hex), as the same password may appear in URLs and tool output."""
    parts = []
    for char in password:
        encoded = "".join("%%(?i:%02x)" % byte for byte in char.encode("utf-8"))
        parts.append("(?:%s|%s)" % (re.escape(char), encoded))
    return re.compile("".join(parts))
