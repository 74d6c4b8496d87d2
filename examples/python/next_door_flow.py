"""The seed KME's documented per-user-pool flow, run against `kmesim serve --profile next-door`.

    python3 next_door_flow.py                  # runs `npx kmesim serve`
    KMESIM_COMMAND="node bin/kmesim.js" python3 examples/python/next_door_flow.py [/api/v1/keys]

Written from the per-user-pool design's API description alone: register (201) → enc_keys from the
receiver's pool → dec_keys → one-time use → status → refill → exhaustion → pools → km/status → delete.
The routes are served under /api/v1/user-keys (where the seed KME serves them) and /api/v1/keys (where
its documents put them); give the prefix as the first argument. Only the standard library is used.
"""
import base64
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def call(url, method="GET", sae=None, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if sae is not None:
        headers["X-SAE-ID"] = sae
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def expect(condition, what):
    if not condition:
        sys.exit(f"failed: {what}")


def flow(api):
    # 1. Register two users, each with a pool of 20 keys of 1 KB.
    for sae, email in (("SAE_ALICE_001", "alice@example.com"), ("SAE_BOB_001", "bob@example.com")):
        status, body = call(f"{api}/register", "POST", body={"sae_id": sae, "user_email": email, "initial_pool_size": 20})
        expect(status == 201 and body["success"] is True and body["keys_generated"] == 20, f"register {sae}: {status} {body}")

    # 2. Alice asks for keys FROM Bob's pool to write to him.
    status, enc = call(f"{api}/SAE_BOB_001/enc_keys", "POST", "SAE_ALICE_001", {"number": 2, "size": 8192})
    expect(status == 200 and len(enc["keys"]) == 2, f"enc_keys: {status} {enc}")
    expect(enc["keys"][0]["key_ID"] == "qk_SAE_BOB_001_000001", f"key ID form: {enc['keys'][0]['key_ID']}")
    expect(all(len(base64.b64decode(key["key"])) == 1024 for key in enc["keys"]), "1 KB keys")

    # 3. Bob fetches the same keys by ID, naming Alice.
    ids = [{"key_ID": key["key_ID"]} for key in enc["keys"]]
    status, dec = call(f"{api}/SAE_ALICE_001/dec_keys", "POST", "SAE_BOB_001", {"key_IDs": ids})
    expect(status == 200 and dec["keys"] == enc["keys"], f"dec_keys: {status}")

    # 4. One-time use: the same keys cannot be fetched again.
    status, again = call(f"{api}/SAE_ALICE_001/dec_keys", "POST", "SAE_BOB_001", {"key_IDs": ids})
    expect(status == 400, f"second dec_keys: {status} {again}")

    # 5. Status of Bob's pool, as Alice sees it.
    status, pool = call(f"{api}/SAE_BOB_001/status", sae="SAE_ALICE_001")
    expect(status == 200 and pool["stored_key_count"] == 18, f"status: {status} {pool}")

    # 6. Refill: ask the remote key manager for 2 keys; they arrive after the sync latency.
    status, refill = call(f"{api}/SAE_BOB_001/refill", "POST", "SAE_BOB_001", {"keys_to_add": 2})
    expect(status == 200 and refill["success"] is True and refill["keys_requested"] == 2, f"refill: {status} {refill}")
    deadline = time.monotonic() + 10
    while True:
        status, pools = call(f"{api}/pools")
        bob = next(p for p in pools["pools"] if p["sae_id"] == "SAE_BOB_001")
        if bob["available_keys"] == 20:
            break
        expect(time.monotonic() < deadline, f"refill never arrived: {bob}")
        time.sleep(0.05)

    # 7. Pool isolation: Alice's pool gave nothing.
    alice = next(p for p in pools["pools"] if p["sae_id"] == "SAE_ALICE_001")
    expect(alice["available_keys"] == 20 and alice["used_keys"] == 0, f"Alice's pool: {alice}")
    expect(pools["summary"]["total_pools"] == len(pools["pools"]), f"summary: {pools['summary']}")

    # 8. Exhaustion: more keys than the pool holds is the seed's 400.
    status, refused = call(f"{api}/SAE_BOB_001/enc_keys", "POST", "SAE_ALICE_001", {"number": 21})
    expect(status == 400 and refused["message"] == "Insufficient keys available", f"exhaustion: {status} {refused}")

    # 9. The local key manager's status.
    status, km = call(f"{api}/km/status")
    expect(status == 200 and km["local_km_id"] == "KME_A" and km["remote_km_status"] == "online", f"km/status: {status} {km}")

    # 10. Bob leaves: only he may delete himself, and his pool goes with him.
    status, _ = call(f"{api}/SAE_BOB_001", "DELETE", "SAE_ALICE_001")
    expect(status == 401, f"delete by another SAE: {status}")
    status, deleted = call(f"{api}/SAE_BOB_001", "DELETE", "SAE_BOB_001")
    expect(status == 200 and deleted["success"] is True, f"delete: {status} {deleted}")
    status, pools = call(f"{api}/pools")
    expect(all(p["sae_id"] != "SAE_BOB_001" for p in pools["pools"]), "Bob's pool is gone")


def main():
    prefix = sys.argv[1] if len(sys.argv) > 1 else "/api/v1/user-keys"
    workdir = tempfile.mkdtemp(prefix="kmesim-nd-")
    ready_file = os.path.join(workdir, "ready.json")
    env = dict(os.environ)
    env.update({
        "KMESIM_PROFILE": "next-door",
        "KMESIM_SYNC_LATENCY": "100",
        "KMESIM_SEED": "1",
        "KMESIM_READY_FILE": ready_file,
        "KMESIM_LOG_LEVEL": "error",
    })
    command = shlex.split(os.environ.get("KMESIM_COMMAND", "npx kmesim")) + ["serve"]
    server = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(ready_file):
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("kmesim serve did not become ready")
            time.sleep(0.05)
        with open(ready_file) as f:
            ready = json.load(f)
        flow(ready["kmes"][0]["url"] + prefix)
        print(f"ok: the per-user-pool flow passed under {prefix}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
