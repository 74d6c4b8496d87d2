#!/usr/bin/env python3
"""A one-time-pad mail client in Python, judged by `kmesim serve --judge-clients`.

The sender gets keys from its KME (enc_keys) and XORs the message with them, key after key; the reader
fetches the same keys by ID from its own KME (dec_keys) and XORs them off in the same order. The sealing
and opening code tells the ledger which keys it used (POST {ledger}/sealed and /opened), and the sender
hands over its plaintext and ciphertext (POST {ledger}/enveloped) for the kit to open with the reference
OTP, which sees key bytes used twice where the key IDs look right; after the run,
GET {ledger}/verdict says which client rule (U1...U7) was broken, with the requests that show it.

Usage: otp_client.py READY_JSON [--bug reuse|reverse|skip-dec|no-consume|stretch] [--messages N] [--seed S]
READY_JSON is the ready line `kmesim serve --judge-clients` printed. Prints the verdict as JSON; exits 0
when every rule held, 1 when one was broken.
"""
import argparse
import base64
import json
import random
import sys
import urllib.error
import urllib.request


def call(url, body=None, sae=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    request.add_header("Content-Type", "application/json")
    if sae is not None:
        request.add_header("X-SAE-ID", sae)
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class OtpClient:
    def __init__(self, ready, bug=None):
        self.kme_of = {sae["id"]: next(k["url"] for k in ready["kmes"] if k["id"] == sae["kme"]) for sae in ready["saes"]}
        self.ledger = ready["ledger"]
        self.key_bytes = 8
        self.bug = bug
        self.last_keys = []
        self.leaked = {}

    def enc_keys(self, sender, reader, count):
        status, body = call(f"{self.kme_of[sender]}/api/v1/keys/{reader}/enc_keys", {"number": count, "size": self.key_bytes * 8}, sender)
        if status != 200:
            raise RuntimeError(f"enc_keys answered {status}: {body}")
        return [(key["key_ID"], base64.b64decode(key["key"])) for key in body["keys"]]

    def dec_keys(self, reader, sender, ids):
        status, body = call(f"{self.kme_of[reader]}/api/v1/keys/{sender}/dec_keys", {"key_IDs": [{"key_ID": i} for i in ids]}, reader)
        if status != 200:
            raise RuntimeError(f"dec_keys answered {status}: {body}")
        got = {key["key_ID"]: base64.b64decode(key["key"]) for key in body["keys"]}
        return [(i, got[i]) for i in ids]

    def span(self):
        # The stretch bug pads two spans of the message with each key, on both sides.
        return 2 * self.key_bytes if self.bug == "stretch" else self.key_bytes

    def xor(self, data, keys):
        return bytes(b ^ keys[i // self.span()][1][i % self.key_bytes] for i, b in enumerate(data))

    def seal(self, message_id, sender, reader, plaintext):
        count = -(-len(plaintext) // self.span())
        if self.bug == "reuse" and len(self.last_keys) >= count:
            keys = self.last_keys[:count]
        else:
            keys = self.enc_keys(sender, reader, count)
        self.last_keys = keys
        if self.bug == "no-consume":
            self.enc_keys(sender, reader, 1)
        if self.bug == "skip-dec":
            self.leaked.update(dict(keys))
        ciphertext = self.xor(plaintext, keys)
        call(f"{self.ledger}/sealed", {"message": message_id, "sae": sender, "keyIds": [k for k, _ in keys]})
        call(f"{self.ledger}/enveloped", {"message": message_id, "plaintext": base64.b64encode(plaintext).decode(), "ciphertext": base64.b64encode(ciphertext).decode()})
        return {"id": message_id, "from": sender, "keyIds": [k for k, _ in keys], "data": ciphertext}

    def open(self, envelope, reader):
        if self.bug == "skip-dec" and all(k in self.leaked for k in envelope["keyIds"]):
            keys = [(k, self.leaked[k]) for k in envelope["keyIds"]]
        else:
            keys = self.dec_keys(reader, envelope["from"], envelope["keyIds"])
        if self.bug == "reverse":
            keys = list(reversed(keys))
        call(f"{self.ledger}/opened", {"message": envelope["id"], "sae": reader, "keyIds": [k for k, _ in keys]})
        return self.xor(envelope["data"], keys)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ready")
    parser.add_argument("--bug", choices=["reuse", "reverse", "skip-dec", "no-consume", "stretch"])
    parser.add_argument("--messages", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    ready = json.loads(args.ready)
    call(f"{ready['ledger']}/reset", {})
    client = OtpClient(ready, args.bug)
    rng = random.Random(args.seed)
    symptom = None
    try:
        for n in range(args.messages):
            plaintext = bytes(rng.randrange(256) for _ in range(rng.choice([1, 8, 9, 16, 17])))
            envelope = client.seal(f"m{n + 1}", "SAE_A1", "SAE_B1", plaintext)
            if client.open(envelope, "SAE_B1") != plaintext:
                raise AssertionError(f"m{n + 1} opened to other bytes")
    except Exception as error:  # the run failed: the verdict says which rule the client broke to get there
        symptom = str(error)
    status, verdict = call(f"{ready['ledger']}/verdict")
    print(json.dumps(verdict))
    if symptom is not None:
        print(f"the run failed: {symptom}", file=sys.stderr)
    return 0 if status == 200 and verdict["holds"] and symptom is None else 1


if __name__ == "__main__":
    sys.exit(main())
