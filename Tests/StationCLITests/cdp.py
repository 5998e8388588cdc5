# Headless chromium driven over its DevTools pipe (--remote-debugging-pipe: JSON messages ending
# in NUL on fds 3 and 4, no websocket needed), for the dashboard's browser tests (live-update.py,
# page-layout.py). Only the standard library.
import json, os, subprocess, time

class Browser:
    def __init__(self, chromium, profile, extra=()):
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # The child's fds 3 and 4 (os.pipe makes close-on-exec fds; a dup2 onto the same
        # number would leave that flag on).
        os.set_inheritable(to_chrome_r, True); os.set_inheritable(from_chrome_w, True)
        def child():
            os.dup2(to_chrome_r, 3); os.dup2(from_chrome_w, 4)
        self.proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-proxy-server",
                                      "--user-data-dir=" + profile, *extra, "about:blank"], preexec_fn=child, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r); os.close(from_chrome_w)
        self.write, self.read = to_chrome_w, from_chrome_r
        self.buffer = b""; self.next_id = 0

    def call(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session: message["sessionId"] = session
        os.write(self.write, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.read, 1 << 20)
                if not chunk: raise SystemExit("chromium closed its pipe")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.next_id:
                if "error" in reply: raise SystemExit("%s: %s" % (method, reply["error"]))
                return reply["result"]

    def open(self):
        """A new tab (about:blank); its session."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return session

    def go(self, session, url, seconds=60):
        self.call("Page.navigate", {"url": url}, session)
        # A new document: wait for it (the old one may still say complete for a moment).
        if not self.until(session, "document.readyState === 'complete' && location.href === %s" % json.dumps(url), seconds):
            raise SystemExit("%s did not load: %s" % (url, self.evaluate(session, "location.href + ' ' + document.readyState")))

    def evaluate(self, session, expression):
        return self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)["result"].get("value")

    def until(self, session, expression, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.evaluate(session, expression): return True
            time.sleep(0.1)
        return False

    def close(self):
        try: self.call("Browser.close")
        except BaseException: pass
        self.proc.wait(timeout=30)
