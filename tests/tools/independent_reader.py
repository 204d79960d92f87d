#!/usr/bin/python3
"""A second reader of the dumpcrypt envelope, written from docs/FORMAT.md alone.

Usage: independent_reader.py --kek HEX FILE   -> writes the decrypted view to stdout.
Exits 3 if the KEK does not unwrap the data key, 4 on any integrity failure.
Needs Debian's python3-cryptography (run it with /usr/bin/python3).
"""
import argparse
import hashlib
import hmac
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

MAGIC = bytes([0x89, 0x44, 0x43, 0x45, 0x0D, 0x0A, 0x1A, 0x0A])


def fail(code, message):
    print(f"independent_reader: {message}", file=sys.stderr)
    sys.exit(code)


def hkdf(ikm, salt, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kek", required=True)
    ap.add_argument("file")
    args = ap.parse_args()
    kek = bytes.fromhex(args.kek)
    data = open(args.file, "rb").read()

    # Section 2: fixed header.
    if data[:8] != MAGIC:
        fail(1, "no magic")
    version, flags, header_length = struct.unpack_from("<HHI", data, 8)
    cipher, shift, reserved16, prefix_length = struct.unpack_from("<BBHI", data, 16)
    data_offset, plaintext_length = struct.unpack_from("<QQ", data, 24)
    file_id = data[40:56]
    (reserved64,) = struct.unpack_from("<Q", data, 56)
    if version != 1 or flags & ~1 or cipher != 1 or not 9 <= shift <= 16:
        fail(1, "unsupported header")
    if reserved16 or reserved64 or not 96 <= header_length <= 1 << 20:
        fail(4, "bad header")
    integrity = bool(flags & 1)
    sector_size = 1 << shift

    # Section 3: records.
    slots = []
    pos, end = 64, header_length - 32
    while pos < end:
        rtype, length = struct.unpack_from("<HH", data, pos)
        value = data[pos + 4 : pos + 4 + length]
        if pos + 4 + length > end:
            fail(4, "record past the end")
        pos += 4 + length
        if rtype == 0x0001:
            kind = value[0]
            p = value[1]
            provider = value[2 : 2 + p]
            k = value[2 + p]
            key_id = value[3 + p : 3 + p + k]
            w = value[3 + p + k]
            wrapped = value[4 + p + k : 4 + p + k + w]
            slots.append((kind, provider, key_id, wrapped))
    if not slots:
        fail(4, "no key slot")

    # Section 4: keys.
    try:
        dk = aes_key_unwrap_with_padding(kek, slots[0][3])
    except InvalidUnwrap:
        fail(3, "the KEK does not unwrap the data key")
    xts_key = hkdf(dk, file_id, b"dumpcrypt v1 xts key", 64)
    tag_key = hkdf(dk, file_id, b"dumpcrypt v1 sector tag key", 32)
    header_key = hkdf(dk, file_id, b"dumpcrypt v1 header key", 32)
    if xts_key[:32] == xts_key[32:]:
        fail(4, "equal XTS key halves")

    # Section 6: header tag.
    prefix = data[header_length : header_length + prefix_length]
    expected = hmac.new(header_key, data[: header_length - 32] + prefix, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, data[header_length - 32 : header_length]):
        fail(4, "header tag mismatch")

    # Section 1: exact size.
    n = (plaintext_length + sector_size - 1) // sector_size
    stride = sector_size + (16 if integrity else 0)
    if len(data) != data_offset + n * stride:
        fail(4, "file size is not data_offset + N * stride")

    # Section 5: sectors.
    out = bytearray(prefix)
    gmac = AESGCM(tag_key)
    for i in range(n):
        unit = data_offset + i * stride
        c = data[unit : unit + sector_size]
        if integrity:
            nonce = struct.pack("<Q", i) + b"\0\0\0\0"
            tag = gmac.encrypt(nonce, b"", c)  # empty plaintext: the output is the tag
            if not hmac.compare_digest(tag, data[unit + sector_size : unit + stride]):
                fail(4, f"sector {i} tag mismatch")
        tweak = i.to_bytes(16, "little")
        dec = Cipher(algorithms.AES(xts_key), modes.XTS(tweak)).decryptor()
        out += dec.update(c) + dec.finalize()
    del out[prefix_length + plaintext_length :]
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main()
