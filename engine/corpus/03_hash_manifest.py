"""Content-addressed artifact store: builds a manifest of digests.

Covers hashlib (md5, sha1, sha256, sha512, sha3_256, blake2b/blake2s with
key/digest_size/person/salt, shake), incremental updates, copy(), large
inputs, hmac, and a PBKDF2 built on hmac (checked against RFC 6070).
"""
import hashlib
import hmac


def make_blob(seed, size):
    """Deterministic pseudo-random bytes from a simple LCG."""
    out = bytearray(size)
    state = seed & 0xFFFFFFFF
    for i in range(size):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = (state >> 16) & 0xFF
    return bytes(out)


class ArtifactStore:
    def __init__(self, algorithm="sha256"):
        self.algorithm = algorithm
        self.objects = {}

    def put(self, name, data):
        digest = hashlib.new(self.algorithm, data).hexdigest()
        self.objects.setdefault(digest, []).append(name)
        return digest

    def report(self):
        for digest, names in sorted(self.objects.items()):
            print(f"  {digest[:16]}… {len(names)} name(s): {', '.join(sorted(names))}")


def pbkdf2(name, password, salt, rounds, dklen):
    """PBKDF2-HMAC built on the hmac module (hashlib.pbkdf2_hmac needs OpenSSL)."""
    prf = hmac.new(password, digestmod=name)
    out = b""
    block = 1
    while len(out) < dklen:
        mac = prf.copy()
        mac.update(salt + block.to_bytes(4, "big"))
        u = mac.digest()
        acc = int.from_bytes(u, "big")
        for _ in range(rounds - 1):
            mac = prf.copy()
            mac.update(u)
            u = mac.digest()
            acc ^= int.from_bytes(u, "big")
        out += acc.to_bytes(len(u), "big")
        block += 1
    return out[:dklen]


def chunked_digest(factory, data, chunk):
    h = factory()
    for i in range(0, len(data), chunk):
        h.update(data[i:i + chunk])
    return h.hexdigest()


def main():
    samples = [b"", b"abc", b"The quick brown fox jumps over the lazy dog",
               "naïve café — 東京".encode("utf-8"), bytes(range(256))]
    algos = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256",
             "sha3_512", "blake2b", "blake2s"]
    print("== one-shot digests ==")
    for data in samples:
        label = data[:20].hex() if data else "(empty)"
        print(f"input {label} ({len(data)} bytes)")
        for name in algos:
            h = hashlib.new(name, data)
            print(f"  {name:<9} size={h.digest_size:<3} block={h.block_size:<4} {h.hexdigest()}")

    print("== keyed and personalised BLAKE2 ==")
    key = b"secret-key-for-macs"
    for size in (8, 16, 32, 64):
        print(f"  blake2b key digest_size={size}:", hashlib.blake2b(b"message", key=key, digest_size=size).hexdigest())
    print("  blake2b person:", hashlib.blake2b(b"message", person=b"corpus-app", digest_size=20).hexdigest())
    print("  blake2b salt:  ", hashlib.blake2b(b"message", salt=b"saltsalt", digest_size=20).hexdigest())
    print("  blake2s key:   ", hashlib.blake2s(b"message", key=b"k" * 32, digest_size=16).hexdigest())
    print("  blake2s person:", hashlib.blake2s(b"message", person=b"app01", digest_size=12).hexdigest())
    tree = hashlib.blake2b(b"leaf", fanout=2, depth=2, leaf_size=4096, node_offset=1, node_depth=0,
                           inner_size=64, last_node=True)
    print("  blake2b tree params:", tree.hexdigest()[:64])
    try:
        hashlib.blake2b(b"x", digest_size=65)
    except ValueError as exc:
        print("  digest_size=65 rejected:", type(exc).__name__)

    print("== shake ==")
    for n in (8, 16, 32, 100):
        print(f"  shake_128/{n}:", hashlib.shake_128(b"extendable output").hexdigest(n)[:80])
    print("  shake_256/40:", hashlib.shake_256(b"extendable output").hexdigest(40))

    print("== incremental hashing of a large input ==")
    blob = make_blob(2024, 4099) * 256   # about 1 MiB
    print("  blob length:", len(blob))
    for name in ("md5", "sha1", "sha256", "sha512", "sha3_256", "blake2b"):
        one_shot = hashlib.new(name, blob).hexdigest()
        factory = lambda n=name: hashlib.new(n)
        pieces = {chunk: chunked_digest(factory, blob, chunk) for chunk in (7919, 65536, 300007)}
        agree = all(v == one_shot for v in pieces.values())
        print(f"  {name:<8} {one_shot[:48]} chunked-agree={agree}")
    h = hashlib.sha256()
    h.update(b"prefix:")
    snapshot = h.copy()
    h.update(b"alpha")
    snapshot.update(b"beta")
    print("  copy() forks:", h.hexdigest()[:32], snapshot.hexdigest()[:32])
    running = hashlib.sha512()
    for i in range(50):
        running.update(f"line {i}: {'x' * i}\n".encode())
        if i % 10 == 9:
            print(f"  after {i + 1:>2} lines sha512 prefix {running.hexdigest()[:40]}")
    big = b"a" * 1_000_000
    print("  sha256(a*1e6) =", hashlib.sha256(big).hexdigest())
    print("  md5(a*1e6)    =", hashlib.md5(big).hexdigest())
    print("  sha1(a*1e6)   =", hashlib.sha1(big).hexdigest())

    print("== hmac / pbkdf2 ==")
    for digestmod in ("md5", "sha1", "sha256", "sha512"):
        mac = hmac.new(b"key", b"The quick brown fox jumps over the lazy dog", digestmod)
        print(f"  hmac-{digestmod:<6}", mac.hexdigest())
    a = hmac.digest(b"k", b"payload", "sha256")
    b = hmac.new(b"k", b"payload", hashlib.sha256).digest()
    print("  compare_digest:", hmac.compare_digest(a, b), hmac.compare_digest(a, b[:-1] + b"\x00"))
    rfc6070 = "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"
    derived = pbkdf2("sha1", b"password", b"salt", 2, 20).hex()
    print("  pbkdf2 sha1 (2 rounds):    ", derived, "matches RFC 6070:", derived == rfc6070)
    print("  pbkdf2 sha256 (500 rounds):", pbkdf2("sha256", b"correct horse", b"NaCl", 500, 40).hex())

    print("== artifact store ==")
    store = ArtifactStore("sha3_256")
    files = {
        "README": b"hello world\n",
        "docs/README": b"hello world\n",
        "src/main.c": b"int main(void) { return 0; }\n",
        "src/copy.c": b"int main(void) { return 0; }\n",
        "LICENSE": b"Permission is hereby granted...\n",
        "data/blob.bin": make_blob(7, 5000),
    }
    for name, data in files.items():
        digest = store.put(name, data)
        print(f"  put {name:<15} -> {digest[:24]}")
    store.report()
    print("  unique objects:", len(store.objects), "of", len(files))


if __name__ == "__main__":
    main()
