# A dashboard page open in headless chromium (cdp.py): waits until the page says live, marks the
# page (a reload would lose the mark), signals the test to record a result, and measures how long
# the result took to appear on the same page. Then the server goes away: the page must say
# reconnecting; the test records another result and starts the server again on the same address:
# the page must say live again and show the result recorded while it was away, still without a
# reload. Prints one JSON object. Used by DashboardTests.aResultAppearsOnAnOpenPageWithoutAReload.
import json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser
chromium, url, folder = sys.argv[1:4]
def signal(name): open(os.path.join(folder, name), "w").write(name)
def wait_for(name, seconds=90):
    deadline = time.time() + seconds
    while not os.path.exists(os.path.join(folder, name)):
        if time.time() > deadline: print("the test never said " + name); sys.exit(1)
        time.sleep(0.05)
browser = Browser(chromium, os.path.join(folder, "profile"))
state = "document.getElementById('live') && document.getElementById('live').dataset.state"
totals = "document.getElementById('totals').innerText"
try:
    session = browser.open()
    browser.go(session, url)
    if not browser.until(session, state + " === 'live'", 60):
        print("never live: " + str(browser.evaluate(session, state))); sys.exit(1)
    before = browser.evaluate(session, "window.stillTheSamePage = true; " + totals)
    signal("open")
    wait_for("recorded")
    added = time.time()
    if not browser.until(session, "window.stillTheSamePage === true && " + totals + ".includes('5 PASS')", 60):
        print("not shown: " + str(browser.evaluate(session, "[window.stillTheSamePage, " + totals + "]"))); sys.exit(1)
    seconds = time.time() - added
    live = browser.evaluate(session, state)
    signal("shown")
    # The server is stopped now.
    if not browser.until(session, state + " === 'reconnecting'", 60):
        print("never said reconnecting: " + str(browser.evaluate(session, state))); sys.exit(1)
    away = browser.evaluate(session, "document.getElementById('live').innerText")
    signal("saw-reconnecting")
    # A result recorded while the server was away, and the server back on the same address.
    if not browser.until(session, state + " === 'live' && window.stillTheSamePage === true && " + totals + ".includes('6 PASS')", 90):
        print("not back: " + str(browser.evaluate(session, "[" + state + ", window.stillTheSamePage, " + totals + "]"))); sys.exit(1)
    print(json.dumps({"seconds": seconds, "before": before, "state": live, "away": away, "back": browser.evaluate(session, state)}))
finally:
    browser.close()
