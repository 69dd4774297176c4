"""A TCP proxy between triage and the test Dovecot that can answer or rewrite lines.

Real servers misbehave in ways Dovecot does not (advertise IDLE and refuse it, answer a
FETCH with ``BODY[] NIL``, refuse a command without a response code). The proxy forwards
the bytes of each connection both ways, line by line, and hands every line to a hook
first: what the hook returns is forwarded (``None``: nothing), and
:meth:`Connection.to_client` answers the client instead of the server. After STARTTLS
each side's bytes are TLS, passed on as they come without the hooks seeing them.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable

ClientHook = Callable[["Connection", bytes], "bytes | None"]
ServerHook = Callable[["Connection", bytes], "bytes | None"]


def passthrough(connection: Connection, line: bytes) -> bytes:
    return line


class Connection:
    """One client connection and its upstream connection."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client, self.upstream = client, upstream
        self._client_lock = threading.Lock()
        self.tls = {"client": False, "server": False}
        """Which side's bytes are TLS now (after STARTTLS): passed on as they come, unseen by the hooks."""
        self.starttls_tag: bytes | None = None

    def to_client(self, data: bytes) -> None:
        """Send ``data`` to the client as if the server had."""
        with self._client_lock:
            self.client.sendall(data)

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class ImapProxy:
    """Listens on 127.0.0.1 (:attr:`port`) and proxies every connection to ``upstream_port``."""

    def __init__(self, upstream_port: int, *, from_client: ClientHook = passthrough,
                 from_server: ServerHook = passthrough) -> None:
        self.upstream_port = upstream_port
        self.from_client, self.from_server = from_client, from_server
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[Connection] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            connection = Connection(client, upstream)
            self.connections.append(connection)
            threading.Thread(target=self._pump, args=(connection, client, upstream, self.from_client, False),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(connection, upstream, client, self.from_server, True),
                             daemon=True).start()

    def _pump(self, connection: Connection, source: socket.socket, target: socket.socket, hook, to_client: bool):
        reader = source.makefile("rb")
        side = "server" if to_client else "client"
        try:
            while True:
                if connection.tls[side]:
                    chunk = reader.read1(65536)
                    if not chunk:
                        break
                    target.sendall(chunk)
                    continue
                line = reader.readline()
                if not line:
                    break
                # STARTTLS: the client speaks TLS once it has sent it, the server once it has said OK.
                # Noted before the line is passed on: the server's OK can come back before this
                # thread gets on, and its pump would read the TLS handshake as lines (and hang).
                starttls = re.match(rb"^(\S+) STARTTLS\r?\n", line, re.I)
                if side == "client" and starttls:
                    connection.tls[side], connection.starttls_tag = True, starttls[1]
                elif side == "server" and connection.starttls_tag and line.startswith(connection.starttls_tag + b" OK"):
                    connection.tls[side] = True
                out = hook(connection, line)
                if out:
                    if to_client:
                        connection.to_client(out)
                    else:
                        target.sendall(out)
        except OSError:
            pass
        finally:
            connection.close()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        for connection in self.connections:
            connection.close()

    def __enter__(self) -> ImapProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class BodyAsNil:
    """A server hook: the FETCH answers with the body of UID ``uid`` say ``BODY[] NIL``
    instead (the literal is swallowed), as Exchange is reported to answer for a message
    it has no content to give for."""

    def __init__(self, uid: int) -> None:
        self.head = re.compile(rb"^(\* \d+ FETCH \(.*\bUID %d\b.*BODY\[\](?:<\d+>)?) \{(\d+)\}\r\n\Z" % uid, re.S)
        self.skipping: dict[int, int] = {}
        """Bytes of a literal still to swallow, by connection."""

    def __call__(self, connection: Connection, line: bytes) -> bytes | None:
        left = self.skipping.get(id(connection), 0)
        if left:
            if len(line) <= left:
                self.skipping[id(connection)] = left - len(line)
                return None
            self.skipping[id(connection)] = 0
            return line[left:]
        found = self.head.match(line)
        if found is None:
            return line
        self.skipping[id(connection)] = int(found[2])
        return found[1] + b" NIL"
