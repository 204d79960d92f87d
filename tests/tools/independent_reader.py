#!/usr/bin/python3
"""A second reader of the dumpcrypt envelope, written from docs/FORMAT.md alone.

Usage: independent_reader.py [--kek HEX] [--password-file F] [--identity PEM]... FILE
writes the decrypted view to stdout. Slots are tried in order with the secrets
given; unknown slot kinds are skipped. Exits 3 if no slot opens with them, 4 on
any damage or integrity failure. Needs Debian's python3-cryptography and, for
password slots, python3-argon2 (run it with /usr/bin/python3).
"""
import argparse
import hashlib
import hmac
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, x25519
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


def parse_slot(value):
    """Section 3: a slot as (kind, fields, wrapped DK); None for an unknown kind."""
    kind, body = value[0], value[1:]

    def take(n):
        nonlocal body
        if n > len(body):
            fail(4, f"slot of kind {kind} is truncated")
        out, body = body[:n], body[n:]
        return out

    if kind == 1:
        provider = take(take(1)[0])
        key_id = take(take(1)[0])
        if not key_id:
            fail(4, "empty keyID")
        fields = (provider, key_id)
    elif kind == 2:
        if take(1)[0] != 1:
            fail(4, "unknown password KDF")
        t, m = struct.unpack("<II", take(8))
        p = take(1)[0]
        salt = take(take(1)[0])
        if not (1 <= t <= 64 and 1 <= p <= 16 and 8 * p <= m <= 4 << 20 and 16 <= len(salt) <= 64):
            fail(4, "Argon2id parameters out of bounds")
        fields = (t, m, p, salt)
    elif kind == 3:
        fields = (take(32), take(32))
    elif kind == 4:
        fp = take(32)
        (e,) = struct.unpack("<H", take(2))
        if not 256 <= e <= 2048:
            fail(4, "bad RSA-OAEP length")
        fields = (fp, take(e))
    else:
        return None
    wrapped = take(take(1)[0])
    if len(wrapped) != 72 or body:
        fail(4, f"slot of kind {kind} is malformed")
    return kind, fields, wrapped


def fingerprint(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()


def slot_kek(kind, fields, secrets):
    """The KEK of a slot from the secrets given, or None."""
    if kind == 1:
        return secrets.kek
    if kind == 2 and secrets.password is not None:
        from argon2.low_level import Type, hash_secret_raw

        t, m, p, salt = fields
        return hash_secret_raw(secrets.password, salt, time_cost=t, memory_cost=m, parallelism=p,
                               hash_len=32, type=Type.ID, version=19)
    for key in secrets.identities:
        if fingerprint(key.public_key()) != fields[0]:
            continue
        if kind == 3 and isinstance(key, x25519.X25519PrivateKey):
            ephemeral = fields[1]
            mine = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            z = key.exchange(x25519.X25519PublicKey.from_public_bytes(ephemeral))
            return hkdf(z, ephemeral + mine, b"dumpcrypt v1 x25519 slot", 32)
        if kind == 4 and isinstance(key, rsa.RSAPrivateKey):
            oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
            try:
                return key.decrypt(fields[1], oaep)
            except ValueError:
                return None
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kek")
    ap.add_argument("--password-file")
    ap.add_argument("--identity", action="append", default=[])
    ap.add_argument("file")
    args = ap.parse_args()
    args.kek = bytes.fromhex(args.kek) if args.kek else None
    args.password = None
    if args.password_file:
        args.password = open(args.password_file, "rb").read().split(b"\n")[0].removesuffix(b"\r")
    args.identities = [serialization.load_pem_private_key(open(p, "rb").read(), None) for p in args.identity]
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
    layout_size = None
    pos, end = 64, header_length - 32
    while pos < end:
        rtype, length = struct.unpack_from("<HH", data, pos)
        value = data[pos + 4 : pos + 4 + length]
        if pos + 4 + length > end:
            fail(4, "record past the end")
        pos += 4 + length
        if rtype == 0x0001:
            if not value:
                fail(4, "empty key slot")
            slots.append(parse_slot(value))
        elif rtype == 0x0017:
            if len(value) != 9 or layout_size is not None:
                fail(4, "bad layout record")
            if value[0] != 1:
                fail(1, f"unknown layout kind {value[0]}")
            (layout_size,) = struct.unpack_from("<Q", value, 1)
        elif not rtype & 0x8000 and rtype not in range(0x10, 0x17):
            fail(1, f"unknown required record {rtype:#06x}")
    if not slots:
        fail(4, "no key slot")

    # Section 4: keys, from the first slot that opens.
    dk = None
    for slot in slots:
        kek = slot and slot_kek(*slot[:2], args)
        if kek is None:
            continue
        try:
            dk = aes_key_unwrap_with_padding(kek, slot[2])
            break
        except InvalidUnwrap:
            pass
    if dk is None:
        fail(3, "no slot opens with the secrets given")
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
    if any(out[prefix_length + plaintext_length :]):
        fail(4, "the last sector is not zero past the end")
    del out[prefix_length + plaintext_length :]
    if layout_size is not None:
        if prefix_length:
            fail(4, "a layout record with a prefix")
        out = rearranged(bytes(out), layout_size)
    sys.stdout.buffer.write(out)


def rearranged(flat, size):
    """The file a makedumpfile flattened stream describes (section 3)."""
    if len(flat) < 4096 or flat[:16] != b"makedumpfile".ljust(16, b"\0") or struct.unpack_from(">qq", flat, 16) != (1, 1):
        fail(4, "no flattened header")
    out = bytearray()
    pos = 4096
    while pos + 16 <= len(flat):
        offset, length = struct.unpack_from(">qq", flat, pos)
        if (offset, length) == (-1, -1):
            if pos + 16 != len(flat):
                fail(4, "bytes after the end record")
            break
        if offset < 0 or length < 0 or offset > 1 << 60 or length > 1 << 60:
            fail(4, "impossible flattened record")
        data = flat[pos + 16 : pos + 16 + length]
        if data:
            if len(out) < offset + len(data):
                out.extend(bytes(offset + len(data) - len(out)))
            out[offset : offset + len(data)] = data
        pos += 16 + length
    if len(out) != size:
        fail(4, "the flattened stream describes another size")
    return bytes(out)


if __name__ == "__main__":
    main()
