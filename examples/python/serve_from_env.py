"""Start kmesim's mock KME from Python, configured by environment variables alone, and use it.

    python3 serve_from_env.py                  # runs `npx kmesim serve`
    KMESIM_COMMAND="node bin/kmesim.js" python3 examples/python/serve_from_env.py

Two KMEs with this project's own IDs, two SAEs with its own names, a fixed seed, and a ready file to
poll: no scenario file and no command line to build. Only the standard library is used.
"""
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


def call(url, sae, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"X-SAE-ID": sae, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def main():
    workdir = tempfile.mkdtemp(prefix="kmesim-py-")
    ready_file = os.path.join(workdir, "ready.json")
    env = dict(os.environ)
    env.update({
        "KMESIM_KME_ID": "KME_PARIS,KME_LYON",
        "KMESIM_SAE": "mail-paris@KME_PARIS,mail-lyon@KME_LYON",
        "KMESIM_SEED": "2024",
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
        urls = {kme["id"]: kme["url"] for kme in ready["kmes"]}

        status, enc = call(f"{urls['KME_PARIS']}/api/v1/keys/mail-lyon/enc_keys", "mail-paris", {"number": 2, "size": 256})
        assert status == 200, enc
        ids = [{"key_ID": key["key_ID"]} for key in enc["keys"]]
        status, dec = call(f"{urls['KME_LYON']}/api/v1/keys/mail-paris/dec_keys", "mail-lyon", {"key_IDs": ids})
        assert status == 200 and dec["keys"] == enc["keys"], dec
        # A second dec_keys of the same keys is refused: a one-time pad is used once.
        status, again = call(f"{urls['KME_LYON']}/api/v1/keys/mail-paris/dec_keys", "mail-lyon", {"key_IDs": ids})
        assert status == 400, again
        # A caller attached to the other KME is told why it is refused.
        status, refused = call(f"{urls['KME_LYON']}/api/v1/keys/mail-lyon/status", "mail-paris")
        assert status == 401 and refused["message"] == "unauthorized: mail-paris is attached to KME_PARIS, not KME_LYON", refused
        print(f"ok: 2 keys from KME_PARIS reached mail-lyon on KME_LYON (seed {ready['seed']})")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
