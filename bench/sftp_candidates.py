"""Upload files with one SFTP client library; print the seconds it took.

Run by ``bench_ftp_export.py`` in its own virtual environment
(``var/bench-sftp-venv``, from ``bench/requirements-sftp.txt``): asyncssh
needs a newer ``cryptography`` than Odoo 19 pins, so the candidates are
measured beside Odoo's Python, never installed into it.

Usage: sftp_candidates.py LIBRARY HOST PORT USER KEYFILE LISTFILE
(LISTFILE: one local path a line; each is uploaded under its base name.)
"""

import asyncio
import os
import socket
import sys
import time

CHUNK = 256 * 1024


def asyncssh_put(host, port, user, keyfile, paths):
    import asyncssh  # noqa: PLC0415 only in the bench's own environment

    async def main():
        async with (
            asyncssh.connect(
                host, port, username=user, client_keys=[keyfile], known_hosts=None, config=None
            ) as conn,
            conn.start_sftp_client() as sftp,
        ):
            for path in paths:
                await sftp.put(path, os.path.basename(path))

    asyncio.run(main())


def ssh2_python(host, port, user, keyfile, paths):
    from ssh2 import sftp as flags  # noqa: PLC0415
    from ssh2.session import Session  # noqa: PLC0415

    sock = socket.create_connection((host, port))
    session = Session()
    session.handshake(sock)
    session.userauth_publickey_fromfile(user, keyfile)
    sftp = session.sftp_init()
    mode = flags.LIBSSH2_FXF_CREAT | flags.LIBSSH2_FXF_WRITE | flags.LIBSSH2_FXF_TRUNC
    for path in paths:
        remote = sftp.open(os.path.basename(path), mode, 0o644)
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                sent = 0
                while sent < len(chunk):  # each call returns the bytes acknowledged
                    _rc, count = remote.write(chunk[sent:])
                    sent += count
        remote.close()
    session.disconnect()


def ssh_python(host, port, user, keyfile, paths):
    from ssh import options  # noqa: PLC0415
    from ssh.key import import_privkey_file  # noqa: PLC0415
    from ssh.session import Session  # noqa: PLC0415

    sock = socket.create_connection((host, port))
    session = Session()
    session.options_set(options.HOST, host)
    session.options_set_port(port)
    session.options_set(options.USER, user)
    session.set_socket(sock)
    session.connect()
    session.userauth_publickey(import_privkey_file(keyfile))
    sftp = session.sftp_new()
    sftp.init()
    for path in paths:
        remote = sftp.open(os.path.basename(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with open(path, "rb") as stream:
            while chunk := stream.read(CHUNK):
                view = memoryview(chunk)
                while view:  # libssh writes at most a packet's worth per call
                    view = view[remote.write(bytes(view)) :]
        remote.close()
    session.disconnect()


def paramiko_putfo(host, port, user, keyfile, paths):
    import paramiko  # noqa: PLC0415

    transport = paramiko.Transport((host, port))
    transport.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(keyfile))
    sftp = paramiko.SFTPClient.from_transport(transport)
    for path in paths:
        with open(path, "rb") as stream:
            sftp.putfo(stream, os.path.basename(path))
    transport.close()


LIBRARIES = {
    "asyncssh": asyncssh_put,
    "ssh2-python": ssh2_python,
    "ssh-python": ssh_python,
    "paramiko": paramiko_putfo,
}


def main():
    library, host, port, user, keyfile, listfile = sys.argv[1:7]
    with open(listfile) as fp:
        paths = [line.strip() for line in fp if line.strip()]
    began = time.perf_counter()
    LIBRARIES[library](host, int(port), user, keyfile, paths)
    print(f"{time.perf_counter() - began:.4f} {time.process_time():.4f}")


if __name__ == "__main__":
    main()
