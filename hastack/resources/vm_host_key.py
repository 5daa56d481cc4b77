"""VmHostKey: a VM's SSH host key (Ed25519), made once by the stack and kept only in its state.

The private half goes into the VM's NoCloud seed (a Pulumi secret all the way: never an output of
the stack, never in a log or on a command line); the public half is a stack output, so the first
connection to the VM, and every one after, is verified against it, never trusted on first use.
Nothing on any host is touched: the state is where the key lives.  A replace (another VM name)
makes a new key; nothing else ever does.
"""
from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict

from hastack.plan import Plan


class VmHostKeyProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    layer: str
    vm: str


PROPS = VmHostKeyProps
COMPARED = REPLACED = ("vm",)
OUTPUTS = ("public_key", "private_key")  # made by create; private_key is a secret output
SECRET_OUTPUTS = ("private_key",)


def resource_id(props: VmHostKeyProps) -> str:
    return f"{props.vm}-host-key"


def key_pair(seed: bytes | None = None) -> tuple[str, str]:
    """(private key as an OpenSSH key file holds it, public key `ssh-ed25519 <base64>`): random,
    or from a 32-byte SEED (render only)."""
    key = Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, public


def made(props: VmHostKeyProps, seed: bytes | None = None) -> dict[str, str]:
    """The outputs create records: the key pair, its public line commented with the VM's name."""
    private, public = key_pair(seed)
    return {"public_key": f"{public} {props.vm}", "private_key": private}


def rendered(props: VmHostKeyProps, name: str) -> dict[str, str]:
    """What `render` (Pulumi's mocks, no state) records instead: a key derived from the resource's
    name, so that render writes the same files each time (the private half only goes into secret
    files, which render never writes).  It is no secret and is never applied: render touches no
    host, and `up` makes a random key."""
    return made(props, hashlib.sha256(f"hastack render placeholder {name}".encode()).digest())


def plan_create(props: VmHostKeyProps, found=None) -> Plan:
    return ()  # the key is made in the provider's create, into the state: no host step
