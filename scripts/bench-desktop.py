#!/usr/bin/env python3
"""Desktop app figures: cold start to an interactive unlock screen, and the resident memory of
the whole app (every process) with a ~100k-record vault unlocked, beside KeePassXC holding a
database of similar size.

Usage: scripts/bench-desktop.py [--services 10000] [--runs 5] [--skip-keepassxc]

Needs the packages scripts/install-deps.sh installs, plus keepassxc for the comparison. It builds
release binaries, works in a temporary directory, and starts (and stops) its own Xvfb, D-Bus
session bus and tauri-driver. Start time is measured from the WebDriver "new session" request
(which launches the app) to the moment the passphrase field exists in the page, so it includes
WebKitWebDriver's own overhead: an upper bound for what a person sees.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "bench passphrase for keyloom 2026"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def webdriver(port, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read() or b"{}").get("value")
    except urllib.error.HTTPError as e:
        return {"error": json.loads(e.read() or b"{}")}


def new_session(port, caps):
    v = webdriver(port, "POST", "/session", caps)
    if not (isinstance(v, dict) and "sessionId" in v):
        raise SystemExit(f"no WebDriver session: {v}")
    return v["sessionId"]


def wait_gone(app):
    """The app is single-instance: the next run may start only once the last one has exited."""
    for _ in range(200):
        if subprocess.run(["pgrep", "-f", str(app)], capture_output=True).returncode != 0:
            return
        time.sleep(0.05)


def find(port, session, css, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = webdriver(port, "POST", f"/session/{session}/element", {"using": "css selector", "value": css})
        if isinstance(v, dict) and "error" not in v:
            return next(iter(v.values()))
        time.sleep(0.01)
    raise SystemExit(f"{css} did not appear within {timeout}s")


def descendants(pid):
    children = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(p.name))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        q = todo.pop()
        out.append(q)
        todo.extend(children.get(q, []))
    return out


def memory(pids):
    """(RSS, PSS) in MiB summed over pids. PSS splits shared pages fairly between processes."""
    rss = pss = 0
    names = []
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
            names.append(Path(f"/proc/{pid}/comm").read_text().strip())
        except OSError:
            pass
    return rss / 1024, pss / 1024, names


def settle(pid, seconds=3.0, timeout=90):
    """Waits until the process tree's RSS stops growing, then returns its memory."""
    last, stable_since, deadline = None, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        cur = memory(descendants(pid))
        if last is None or abs(cur[0] - last[0]) > 1.0:
            stable_since = time.monotonic()
        elif time.monotonic() - stable_since >= seconds:
            return cur
        last = cur
        time.sleep(0.5)
    return last


def start_x(env):
    x = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    env["DISPLAY"] = ":" + x.stdout.readline().strip()
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
    return [x, bus]


def keepassxc_xml(path, entries):
    with open(path, "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<KeePassFile><Meta><Generator>bench</Generator></Meta>'
                "<Root><Group><Name>Root</Name>\n")
        for g in range(entries // 1000 + 1):
            f.write(f"<Group><Name>team-{g}</Name>\n")
            for i in range(g * 1000, min(entries, (g + 1) * 1000)):
                f.write(f"<Entry><String><Key>Title</Key><Value>service-{i}/API_KEY</Value></String>"
                        f"<String><Key>UserName</Key><Value>svc-{i}</Value></String>"
                        f"<String><Key>Password</Key><Value>k{i:08d}Zx9vQ2mLr7TfY3pN</Value></String>"
                        f"<String><Key>URL</Key><Value>https://service-{i}.prod.corp.example</Value></String>"
                        f"</Entry>\n")
            f.write("</Group>\n")
        f.write("</Group></Root></KeePassFile>\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-keepassxc", action="store_true")
    args = ap.parse_args()

    print("building release binaries…", flush=True)
    sh(["npm", "run", "--silent", "build"], cwd=ROOT / "frontend")
    sh(["cargo", "build", "--release", "--locked", "--workspace", "--features", "tauri/custom-protocol",
        "--bins", "--quiet"], cwd=ROOT)
    cli = ROOT / "target/release/keyloom"
    app = ROOT / "target/release/keyloom-desktop"

    work = Path(tempfile.mkdtemp(prefix="keyloom-bench-"))
    env = dict(os.environ, XDG_DATA_HOME=str(work / "data"), XDG_CONFIG_HOME=str(work / "config"),
               XDG_CACHE_HOME=str(work / "cache"), XDG_RUNTIME_DIR=str(work), KEYLOOM_PASSPHRASE=PASSPHRASE)
    procs = []
    try:
        print(f"building a demo vault of {args.services} services…", flush=True)
        sh([str(cli), "demo", "--services", str(args.services)], env=env, stdout=subprocess.DEVNULL)
        status = json.loads(subprocess.run([str(cli), "--json", "status"], env=env, check=True,
                                           capture_output=True, text=True).stdout)
        counts = status["counts"]
        records = counts["services"] + counts["credentials"] + counts["credential_versions"] + \
            counts["intents"] + counts["cas"] + counts["certificates"]
        print(f"vault: {counts} → {records} records")

        procs = start_x(env)
        port, native_port = free_port(), free_port()
        driver_log = open(work / "tauri-driver.log", "w")
        procs.append(subprocess.Popen(["tauri-driver", "--port", str(port), "--native-port", str(native_port)],
                                      env=env, stdout=driver_log, stderr=subprocess.STDOUT))
        # Both tauri-driver and the WebKitWebDriver it starts must be listening.
        for p in (port, native_port):
            for _ in range(400):
                try:
                    socket.create_connection(("127.0.0.1", p), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.05)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "wry", "tauri:options": {"application": str(app)}}}}

        starts = []
        for run in range(args.runs):
            t0 = time.monotonic()
            session = new_session(port, caps)
            find(port, session, "[data-testid=unlock-pass]")
            starts.append(time.monotonic() - t0)
            if run < args.runs - 1:
                webdriver(port, "DELETE", f"/session/{session}")
                wait_gone(app)
        print("cold start to unlock screen (s): " + ", ".join(f"{s:.2f}" for s in starts) +
              f"; median {statistics.median(starts):.2f}")

        field = find(port, session, "[data-testid=unlock-pass]")
        webdriver(port, "POST", f"/session/{session}/element/{field}/value", {"text": PASSPHRASE})
        t0 = time.monotonic()
        webdriver(port, "POST", f"/session/{session}/element/{find(port, session, '[data-testid=unlock-submit]')}/click", {})
        find(port, session, ".vrow", timeout=120)
        print(f"unlock (passphrase KDF + index of {records} records) to first rows: {time.monotonic() - t0:.2f} s")
        pid = int(subprocess.run(["pgrep", "-n", "-f", str(app)], capture_output=True, text=True).stdout.split()[0])
        rss, pss, names = settle(pid)
        print(f"keyloom-desktop, {records}-record vault unlocked: RSS {rss:.0f} MiB, PSS {pss:.0f} MiB "
              f"over {len(names)} processes ({', '.join(sorted(set(names)))})")
        webdriver(port, "DELETE", f"/session/{session}")

        if not args.skip_keepassxc and shutil.which("keepassxc"):
            xml, db = work / "kp.xml", work / "kp.kdbx"
            keepassxc_xml(xml, records)
            sh(["keepassxc-cli", "import", "-p", str(xml), str(db)], env=env,
               input=f"{PASSPHRASE}\n{PASSPHRASE}\n", text=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            kp = subprocess.Popen(["keepassxc", "--pw-stdin", str(db)], env=dict(env, QT_QPA_PLATFORM="xcb"),
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  text=True)
            kp.stdin.write(PASSPHRASE + "\n")
            kp.stdin.close()
            procs.append(kp)
            time.sleep(2)
            rss, pss, names = settle(kp.pid)
            print(f"KeePassXC {subprocess.run(['keepassxc-cli', '--version'], capture_output=True, text=True).stdout.strip()}, "
                  f"{records}-entry database open: RSS {rss:.0f} MiB, PSS {pss:.0f} MiB over {len(names)} processes")
    except BaseException:
        log = work / "tauri-driver.log"
        if log.exists():
            print("tauri-driver said:\n" + log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        for p in reversed(procs):
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
