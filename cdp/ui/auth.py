"""Who may look: local by default, a token for anyone else.

On 127.0.0.1 (the default) the app is the local user's, as a file on their disk is, and a
view is recorded under their login name. Listening on any other address needs at least one
token (`--token`, or `--token-file` with one `name token` per line); every page and API call
then checks it, from `Authorization: Bearer <token>` or from the cookie the login form sets,
and a view is recorded under the token's name.
"""

from __future__ import annotations

import getpass
import hmac
from dataclasses import dataclass, field
from pathlib import Path

from cdp.errors import CdpError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
COOKIE = "cdp_ui_token"


@dataclass(frozen=True)
class Access:
    """The tokens the app accepts (name -> token); none means local use only."""

    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def required(self) -> bool:
        return bool(self.tokens)

    def viewer(self, presented: str | None) -> str | None:
        """The name of the token presented, the local user when none is needed, None when refused."""
        if not self.required:
            return f"local:{_login_name()}"
        if not presented:
            return None
        for name, token in self.tokens.items():
            if hmac.compare_digest(presented.encode(), token.encode()):
                return f"token:{name}"
        return None


def load_access(host: str, token: str | None = None, token_file: Path | None = None) -> Access:
    """The tokens from the options; a non-local host without any is an error (one line)."""
    tokens: dict[str, str] = {}
    if token:
        tokens["token"] = token
    if token_file:
        tokens.update(read_token_file(Path(token_file)))
    if host not in LOCAL_HOSTS and not tokens:
        raise CdpError(f"--host {host}: listening beyond this machine needs an access token (--token or --token-file)")
    return Access(tokens)


def read_token_file(path: Path) -> dict[str, str]:
    """`name token` per line (a line with one word is a token named `token`); # starts a comment."""
    if not path.exists():
        raise CdpError(f"--token-file {path}: no such file")
    tokens = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) > 2:
            raise CdpError(f"{path}:{number}: expected `name token`")
        name, token = words if len(words) == 2 else ("token", words[0])
        if len(token) < 12:
            raise CdpError(f"{path}:{number}: token {name!r} is shorter than 12 characters")
        tokens[name] = token
    if not tokens:
        raise CdpError(f"--token-file {path}: no token in it")
    return tokens


def presented_token(headers, cookies) -> str | None:
    """The bearer token of the request, else the login cookie."""
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return cookies.get(COOKIE)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "local"
