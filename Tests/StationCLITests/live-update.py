# A dashboard page open in headless chromium, driven over its DevTools pipe (--remote-debugging-pipe:
# JSON messages ending in NUL on fds 3 and 4, no websocket needed): waits until the page says live, marks
# the page (a reload would lose the mark), signals the test to record a result, and prints how long
# the result took to appear on the same page. Used by DashboardTests.aResultAppearsOnAnOpenPageWithoutAReload.
import json, os, subprocess, sys, time
chromium, url, signal_file, done_file, profile = sys.argv[1:6]
to_chrome_r, to_chrome_w = os.pipe()
from_chrome_r, from_chrome_w = os.pipe()
# The child's fds 3 and 4 (os.pipe makes close-on-exec fds; a dup2 onto the same number
# would leave that flag on).
os.set_inheritable(to_chrome_r, True); os.set_inheritable(from_chrome_w, True)
def child():
    os.dup2(to_chrome_r, 3); os.dup2(from_chrome_w, 4)
proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-proxy-server",
                         "--user-data-dir=" + profile, "about:blank"], preexec_fn=child, close_fds=False,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(to_chrome_r); os.close(from_chrome_w)
buffer = b""; next_id = 0
def call(method, params=None, session=None):
    global buffer, next_id
    next_id += 1
    message = {"id": next_id, "method": method, "params": params or {}}
    if session: message["sessionId"] = session
    os.write(to_chrome_w, json.dumps(message).encode() + b"\0")
    while True:
        while b"\0" not in buffer:
            chunk = os.read(from_chrome_r, 65536)
            if not chunk: raise SystemExit("chromium closed its pipe")
            buffer += chunk
        raw, buffer = buffer.split(b"\0", 1)
        reply = json.loads(raw)
        if reply.get("id") == next_id:
            if "error" in reply: raise SystemExit("%s: %s" % (method, reply["error"]))
            return reply["result"]
def evaluate(session, expression):
    return call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)["result"].get("value")
def until(session, expression, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if evaluate(session, expression): return True
        time.sleep(0.1)
    return False
try:
    target = call("Target.createTarget", {"url": url})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    if not until(session, "document.readyState === 'complete' && document.getElementById('live') !== null && document.getElementById('live').dataset.state === 'live'", 60):
        print("never live: " + str(evaluate(session, "document.getElementById('live') && document.getElementById('live').dataset.state"))); sys.exit(1)
    before = evaluate(session, "window.stillTheSamePage = true; document.getElementById('totals').innerText")
    open(signal_file, "w").write("open")
    deadline = time.time() + 60
    while not os.path.exists(done_file) and time.time() < deadline: time.sleep(0.05)
    added = time.time()
    if not until(session, "window.stillTheSamePage === true && document.getElementById('totals').innerText.includes('5 PASS')", 60):
        print("not shown: " + str(evaluate(session, "[window.stillTheSamePage, document.getElementById('totals').innerText]"))); sys.exit(1)
    print(json.dumps({"seconds": time.time() - added, "before": before, "state": evaluate(session, "document.getElementById('live').dataset.state")}))
finally:
    try: call("Browser.close")
    except BaseException: pass
    proc.wait(timeout=30)
