#!/usr/bin/python3
"""Drives the imagegate console in headless Chromium (Debian chromium + chromium-driver, python3-selenium)
for tests/e2e/console_test.sh. Prints one line per check, "ok   - NAME" or "FAIL - NAME: why", and exits 1
when a check failed (2 when the browser cannot start).

Arguments: BASE_URL READ_TOKEN SCREENSHOT_DIR HOOK_COMMAND
  HOOK_COMMAND is run (sh -c) when the test needs a new denial: the shell side sends a denied review.
Environment: CONSOLE_CVE (the CVE to search), CONSOLE_DIGEST (the digest it must find), CONSOLE_MARKUP (a
  workload name and image string made of HTML markup, which must show as text), CONSOLE_EXTRA_SCREENSHOTS
  (optional: a second directory the screenshots are copied to, docs/console/).
"""
import os
import shutil
import signal
import subprocess
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE, TOKEN, SHOTS, HOOK = sys.argv[1:5]
CVE = os.environ["CONSOLE_CVE"]
DIGEST = os.environ["CONSOLE_DIGEST"]
MARKUP = os.environ["CONSOLE_MARKUP"]
EXTRA = os.environ.get("CONSOLE_EXTRA_SCREENSHOTS", "")
failures = 0


def check(name, ok, why=""):
    global failures
    if ok:
        print("ok   - " + name, flush=True)
    else:
        failures += 1
        print("FAIL - %s: %s" % (name, why), flush=True)


def start_browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--disable-gpu", "--window-size=1400,1000", "--ignore-certificate-errors",
                "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to run its sandbox as root
    service = Service("/usr/bin/chromedriver", log_path=os.path.join(SHOTS, "chromedriver.log"))
    return webdriver.Chrome(service=service, options=options), service


def screenshot(driver, name):
    path = os.path.join(SHOTS, name + ".png")
    driver.save_screenshot(path)
    if EXTRA:
        os.makedirs(EXTRA, exist_ok=True)
        shutil.copy(path, os.path.join(EXTRA, name + ".png"))


def wait(driver, condition, seconds=10):
    # The page redraws its tables as answers arrive: an element found a moment ago may be gone.
    return WebDriverWait(driver, seconds, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def visible(driver, element_id):
    return driver.find_element(By.ID, element_id).is_displayed()


def sign_in(driver, token):
    driver.get(BASE + "/console/")
    wait(driver, EC.visibility_of_element_located((By.ID, "token")))
    box = driver.find_element(By.ID, "token")
    box.clear()
    box.send_keys(token)
    driver.find_element(By.ID, "login-button").click()


def rows(driver, table_id):
    return driver.find_elements(By.CSS_SELECTOR, "#%s tbody tr" % table_id)


def row_info(driver, table_id):
    """The rows of a table read in one script run (no element can go stale between reads)."""
    return driver.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' tbody tr')].map(r => ({digest: r.dataset.digest,"
        " decision: r.dataset.decision, text: r.innerText}))", table_id)


def markup_never_ran(driver):
    """The markup was inserted as text: no element it would have made exists, no script of it ran."""
    pwned = driver.execute_script("return window.__pwned === undefined")
    images = driver.find_elements(By.CSS_SELECTOR, "img")
    scripts = [s.get_attribute("src") for s in driver.find_elements(By.CSS_SELECTOR, "script")]
    return pwned and not images and scripts == [BASE + "/console/console.js"]


def run(driver):
    # A wrong token: an error, and no data anywhere on the page.
    sign_in(driver, "wrong-token-0123456789abcdef")
    try:
        wait(driver, lambda d: visible(d, "login-error"))
        check("a wrong token shows an error", "refused" in driver.find_element(By.ID, "login-error").text)
    except TimeoutException:
        check("a wrong token shows an error", False, "no error shown")
    check("a wrong token shows no data", not visible(driver, "views") and not visible(driver, "summary") and
          not rows(driver, "running-table") and not rows(driver, "decisions-table"))
    check("a wrong token is not kept", driver.execute_script("return sessionStorage.length") == 0)
    screenshot(driver, "wrong-token")

    # The real (read-only) token: kept in sessionStorage only, never in localStorage or a cookie.
    sign_in(driver, TOKEN)
    wait(driver, lambda d: visible(d, "summary") and rows(d, "running-table"))
    check("the token is kept for the tab only",
          driver.execute_script("return sessionStorage.length === 1 && localStorage.length === 0") and
          not driver.get_cookies())
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#chart rect.bar-denied"))
    check("the summary chart draws the last hour's reviews",
          len(driver.find_elements(By.CSS_SELECTOR, "#chart rect")) > 4)

    # Running now: find the digest by its CVE id.
    cve = driver.find_element(By.ID, "running-cve")
    cve.send_keys(CVE)
    driver.find_element(By.ID, "running-go").click()
    try:
        wait(driver, lambda d: [r["digest"] for r in row_info(d, "running-table")] == [DIGEST])
        check("a digest is found by CVE id", True)
    except TimeoutException:
        check("a digest is found by CVE id", False, row_info(driver, "running-table"))
    found = row_info(driver, "running-table")
    check("its verdict shows", found and "CRITICAL" in found[0]["text"], found)
    screenshot(driver, "running-now")
    cve.clear()
    Select(driver.find_element(By.ID, "running-group")).select_by_value("workloads")
    wait(driver, lambda d: MARKUP in [c.text for c in d.find_elements(By.CSS_SELECTOR, "#running-table td")])
    check("a workload named with HTML markup shows as text", markup_never_ran(driver))
    screenshot(driver, "running-now-workloads")

    # Violations now: grouped by rule and reason.
    driver.find_element(By.CSS_SELECTOR, "button[data-view=violations]").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#violations-groups table tbody tr"))
    text = driver.find_element(By.ID, "violations-groups").text
    check("violations show the workload to replace, by rule", "scanned" in text and "web" in text, text[:300])
    check("markup in violations stays text", markup_never_ran(driver))
    screenshot(driver, "violations-now")

    # Recent decisions: a denial appears after a review is denied.
    driver.find_element(By.CSS_SELECTOR, "button[data-view=decisions]").click()
    wait(driver, lambda d: rows(d, "decisions-table"))
    denied = lambda d: len([r for r in row_info(d, "decisions-table") if r["decision"] == "denied"])
    before = denied(driver)
    subprocess.run(["sh", "-c", HOOK], check=True, timeout=30)
    try:  # the page refreshes itself every 5 s; the button does it at once
        driver.find_element(By.ID, "refresh").click()
        wait(driver, lambda d: denied(d) > before)
        check("a denial appears after a review is denied", True)
    except TimeoutException:
        check("a denial appears after a review is denied", False, "still %d denied rows" % before)
    newest = row_info(driver, "decisions-table")[0]
    check("the newest row is the denial", newest["decision"] == "denied", newest)
    check("the page says whose decisions these are", "replica" in driver.find_element(By.ID, "decisions-replica").text)
    screenshot(driver, "recent-decisions")
    wait(driver, lambda d: rows(d, "decisions-table")[0].click() or True)
    wait(driver, lambda d: visible(d, "decision-detail") and rows(d, "decision-images"))
    cells = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#decision-images td")]
    check("the full decision shows every container with its image as text", MARKUP in " ".join(cells), cells)
    check("markup in a decision stays text", markup_never_ran(driver))
    screenshot(driver, "decision")

    # Policy in force.
    driver.find_element(By.CSS_SELECTOR, "button[data-view=policy]").click()
    wait(driver, lambda d: rows(d, "policy-rules"))
    rules = row_info(driver, "policy-rules")
    check("the policy shows its rules in order", rules and rules[0]["text"].startswith("1\tscanned"), rules)
    check("the policy shows its version", "Version" in driver.find_element(By.ID, "policy-version").text)
    anchors = row_info(driver, "policy-anchors")
    check("trust anchors show by name, kind and fingerprint only",
          len(anchors) == 1 and anchors[0]["text"].startswith("release-key\tcosignKey\tsha256:") and
          "PUBLIC KEY" not in driver.page_source and "cosign.pub" not in driver.page_source, anchors)
    screenshot(driver, "policy-in-force")

    # Signing out forgets the token and the data.
    driver.find_element(By.ID, "logout").click()
    check("signing out forgets the token and the data",
          driver.execute_script("return sessionStorage.length") == 0 and not rows(driver, "decisions-table"))


def main():
    try:
        driver, service = start_browser()
    except WebDriverException as e:
        print("FAIL - the browser starts: %s" % e, flush=True)
        return 2
    try:
        run(driver)
    except Exception as e:  # a broken page: one failure, with the page's console
        logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
        check("the console works end to end", False, "%r; browser log: %s" % (e, logs[-5:]))
        screenshot(driver, "failure")
    finally:
        pid = service.process.pid if service.process else None
        driver.quit()
        if pid:  # chromedriver stops its Chromium; make sure it is gone itself
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return 1 if failures else 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print("browser checks took %.1f s" % (time.monotonic() - started), flush=True)
    sys.exit(code)
