#!/usr/bin/python3
"""Writes a VMware DataTransformEnvelope (.ve) file, for tests.

An independent writer: AES-256-GCM from Python `cryptography` (Debian's
python3-cryptography; run with /usr/bin/python3), the layout as documented in
crypto/ve_envelope.h. Usage:
  make_ve.py --key HEX --iv HEX --key-info TEXT --context TEXT [--offset N] PAYLOAD OUT
"""
import argparse
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

BLOCK = 4096


def attribute_bytes(name, value):
    if isinstance(value, str):
        return bytes([0x0B, 0, 0, 0]) + name.encode() + b"\0" + os.fsencode(value) + b"\0"
    return bytes([0x0C, 0, 0, 0]) + name.encode() + b"\0" + struct.pack("<Q", len(value)) + value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--iv", required=True)
    ap.add_argument("--key-info", required=True)
    ap.add_argument("--context", required=True)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("payload")
    ap.add_argument("out")
    a = ap.parse_args()
    key, iv = bytes.fromhex(a.key), bytes.fromhex(a.iv)
    payload = open(a.payload, "rb").read()
    cipher = "AES-256-GCM"

    size = 3584  # the data then starts 4096 bytes into the envelope, as ESXi writes it
    attrs = (attribute_bytes("vmware.iv", iv) + attribute_bytes("vmware.keyInfo", a.key_info) +
             attribute_bytes("vmware.cipherName", cipher) +
             attribute_bytes("vmware.keyHash", hashlib.sha256(cipher.encode() + key).digest()) + b"\0")
    header = bytearray(512 + size)
    header[0:21] = b"DataTransformEnvelope"
    header[0x1F8:0x200] = struct.pack("<II", size, 2)
    header[0x200:0x200 + len(attrs)] = attrs

    padding = (-len(payload)) % BLOCK
    last = bytearray(BLOCK)
    last[BLOCK - 512:BLOCK - 512 + 25] = b"DataTransformCryptoFooter"
    last[BLOCK - 8:] = struct.pack("<II", padding, 2)
    plaintext = payload + bytes([0xA5]) * padding + bytes(last)
    sealed = AESGCM(key).encrypt(iv, plaintext, bytes(header) + a.context.encode())
    ciphertext, tag = sealed[:-16], sealed[-16:]

    footer = bytearray(BLOCK)
    footer[0:23] = b"DataTransformAeadFooter"
    footer[32:48] = tag
    footer[BLOCK - 8:] = struct.pack("<II", 16, 1)
    prefix = bytes((i * 7 + 3) % 256 for i in range(a.offset))
    with open(a.out, "wb") as f:
        f.write(prefix + bytes(header) + ciphertext + bytes(footer))


if __name__ == "__main__":
    main()
