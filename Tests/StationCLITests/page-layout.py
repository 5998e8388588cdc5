# Dashboard pages as a QA lead sees them and prints them, in headless chromium (cdp.py):
# - each page of argv (after chromium, folder, the device page) at a 1280 px wide window: not blank,
#   nothing wider than the window (no sideways scrolling), a chart's bars at least 4 px wide as drawn
#   (a month of 15-minute bars squeezed into the page would be a grey smear), PASS/FAIL both a word
#   and a colour; and after all of them at most three connections still open to the server (a page
#   left behind that keeps its event stream holds one of the browser's six: the seventh page waits);
# - the device page for print (media print, the width an A4 page leaves inside its margins): the
#   header with its search and live badge gone, nothing past the right edge, the colours kept;
#   then printed to PDF (A4, backgrounds) at folder/device.pdf for the test to read with pdftotext.
# Prints one JSON object; exits non-zero on a broken page.
import base64, json, os, subprocess, sys, time, urllib.parse
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser
chromium, folder, device, *pages = sys.argv[1:]
# What sticks out past the window: elements whose right edge is beyond it (rounding aside).
overflow = """(() => { const w = document.documentElement.clientWidth; const out = [];
  for (const e of document.querySelectorAll('body *')) { const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1) out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined ? '.' + e.className : '') + ' ' + Math.round(r.right)); }
  return {width: w, scrollWidth: document.documentElement.scrollWidth, out: out.slice(0, 8)}; })()"""
bars = """[...document.querySelectorAll('svg[aria-label^="Yield"] rect')].map(r => r.getBoundingClientRect().width)"""
colours = """(() => { const c = s => { const e = document.querySelector(s); return e ? getComputedStyle(e).color : null; };
  return {pass: c('.pass'), fail: c('.fail')}; })()"""
browser = Browser(chromium, os.path.join(folder, "profile"))
result = {"screen": {}, "problems": []}
try:
    session = browser.open()
    browser.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
    for url in [device] + pages:
        started = time.time()
        browser.go(session, url)
        text = browser.evaluate(session, "document.getElementById('main') ? document.getElementById('main').innerText : ''")
        fit = browser.evaluate(session, overflow)
        words = browser.evaluate(session, "[...document.querySelectorAll('.pass,.fail')].map(e => e.innerText).join(' ')")
        widths = browser.evaluate(session, bars) or []
        result["screen"][url] = {"text": len(text or ""), "fit": fit, "bars": len(widths), "narrowest": min(widths) if widths else None,
                                 "colours": browser.evaluate(session, colours), "words": (words or "")[:200], "seconds": round(time.time() - started, 2)}
        if widths and min(widths) < 4: result["problems"].append("%s: %d bars, the narrowest %.1f px wide" % (url, len(widths), min(widths)))
        if len(text or "") < 40: result["problems"].append(url + ": blank")
        if fit["scrollWidth"] > 1280 or fit["out"]: result["problems"].append(url + ": wider than 1280 px: " + json.dumps(fit))
    # Connections to the server still open from its side, as the kernel sees them (ss): the
    # current page's stream and a connection or two kept for page loads. Pages that kept their
    # streams would hold all six the browser allows.
    time.sleep(1)
    port = urllib.parse.urlsplit(device).port
    sockets = subprocess.run(["ss", "-Htan", "state", "established", "sport = :%d" % port], capture_output=True, text=True, check=True).stdout
    result["established"] = len(sockets.splitlines())
    if result["established"] > 3: result["problems"].append("%d connections still open to the server after %d pages" % (result["established"], len(pages) + 1))
    # Print: A4 is 210 mm wide; the stylesheet's @page margin is 1.5 cm a side: 180 mm at 96 px per inch.
    printable = round(180 / 25.4 * 96)
    browser.go(session, device)
    browser.call("Emulation.setEmulatedMedia", {"media": "print"}, session)
    browser.call("Emulation.setDeviceMetricsOverride", {"width": printable, "height": 1000, "deviceScaleFactor": 1, "mobile": False}, session)
    fit = browser.evaluate(session, overflow)
    header = browser.evaluate(session, "getComputedStyle(document.querySelector('header')).display")
    adjust = browser.evaluate(session, "getComputedStyle(document.querySelector('.fail') || document.body).printColorAdjust")
    result["print"] = {"width": printable, "fit": fit, "header": header, "colourAdjust": adjust, "colours": browser.evaluate(session, colours)}
    if fit["scrollWidth"] > printable or fit["out"]: result["problems"].append("printed device page wider than the page: " + json.dumps(fit))
    if header != "none": result["problems"].append("the header prints: " + str(header))
    browser.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
    pdf = browser.call("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": True, "preferCSSPageSize": True}, session)["data"]
    open(os.path.join(folder, "device.pdf"), "wb").write(base64.b64decode(pdf))
finally:
    browser.close()
print(json.dumps(result))
sys.exit(1 if result["problems"] else 0)
