"""A throwaway certificate authority and server certificate for ``ApiServer(tls=True)``.

The installed package cannot rely on the repository's ``fixtures/pki``; when no certificate
files are given, the server makes its own with the ``openssl`` command, valid for
``127.0.0.1``, ``localhost`` and ``kubernetes.test``, in a private temporary directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["throwaway_pki"]

_EXT = """basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.test
"""


def _run(args: list[str], cwd: str) -> None:
    try:
        subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=60)
    except subprocess.CalledProcessError as exc:
        raise OSError(f"openssl failed: {exc.stderr.decode(errors='replace').strip()}") from exc
    except subprocess.TimeoutExpired as exc:
        raise OSError("openssl did not finish within 60 seconds") from exc


def throwaway_pki(directory: str) -> tuple[str, str, str]:
    """Make ``ca.crt``, ``server.crt`` and ``server.key`` in ``directory``; returns their paths.

    Raises OSError when ``openssl`` is missing or fails.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise OSError("the openssl command is not on PATH")
    ca_key, ca_crt = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.crt")
    key, csr = os.path.join(directory, "server.key"), os.path.join(directory, "server.csr")
    crt, ext = os.path.join(directory, "server.crt"), os.path.join(directory, "server.ext")
    _run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes", "-sha256", "-days", "3650", "-keyout", ca_key, "-out", ca_crt,
          "-subj", "/CN=dynakube-throwaway-ca",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], directory)
    _run([openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-sha256", "-keyout", key, "-out", csr, "-subj", "/CN=dynakube-embedded"], directory)
    with open(ext, "w") as fh:
        fh.write(_EXT)
    _run([openssl, "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
          "-CAcreateserial", "-sha256", "-days", "3650", "-extfile", ext, "-out", crt], directory)
    for path in (ca_key, key):
        os.chmod(path, 0o600)
    return ca_crt, crt, key
