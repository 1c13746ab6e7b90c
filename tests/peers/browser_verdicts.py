"""Drives headless Chromium (Debian's chromium + chromium-driver) through the public page
of a certified copy, as a person with a phone would: open the URL decoded from the copy's
QR code, read the standing, upload the genuine copy, a copy with one byte changed and a
revoked copy, and switch to English. Takes screenshots of the verdicts at a phone's size.

Usage: browser_verdicts.py CHROMEDRIVER URL GENUINE CHANGED REVOKED OUT_DIR
Prints one JSON object: what each step read. Exits 1 (with the reason) when a step does
not read as expected."""
import json
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

PHONE = (390, 844)


def main():
    driver_path, url, genuine, changed, revoked, out = sys.argv[1:7]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={PHONE[0]},{PHONE[1]}", "--lang=vi"):
        options.add_argument(arg)
    options.add_experimental_option("mobileEmulation", {
        "deviceMetrics": {"width": PHONE[0], "height": PHONE[1], "pixelRatio": 2.0},
        "userAgent": "Mozilla/5.0 (Linux; Android 14) Mobile saoy-test"})
    # The driver is given: selenium's own manager would try to download one.
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    seen = {}
    try:
        wait = WebDriverWait(driver, 30)

        def text(css):
            return wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, css))).text

        def shot(name):
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(PHONE[0], max(PHONE[1], min(int(height) + 40, 4000)))
            time.sleep(0.2)
            driver.save_screenshot(str(out / f"{name}.png"))
            driver.set_window_size(*PHONE)

        def upload(path):
            field = wait.until(ec.presence_of_element_located((By.ID, "file")))
            field.send_keys(path)
            driver.execute_script("window.saoyOldPage = true")
            driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            # The answer is a new document (the mark is gone once it has loaded).
            wait.until(lambda d: d.execute_script(
                "return window.saoyOldPage === undefined && document.readyState === 'complete'"))
            return text("#verdict")

        def expect(step, got, *needles):
            seen[step] = got
            for n in needles:
                if n not in got:
                    raise AssertionError(f"{step}: expected {n!r} in {got!r}")

        driver.get(url)
        expect("standing", text("#standing"), "còn hiệu lực")
        expect("standing_page", driver.find_element(By.TAG_NAME, "main").text,
               "UBND xã Tân Lập", "Nguyễn Thị Hồng Nhung")
        shot("standing-vi")
        # Labels: the file box is named for screen readers.
        label = driver.find_element(By.CSS_SELECTOR, "label[for=file]").text
        expect("label", label, "Kiểm tra")

        expect("genuine", upload(genuine), "Bản sao điện tử hợp lệ", "UBND xã Tân Lập")
        expect("same_bytes", text("#same-bytes"), "đúng là tệp đã cấp")
        shot("verdict-valid")

        expect("changed", upload(changed), "Tệp đã bị sửa sau khi ký")
        expect("changed_bytes", text("#same-bytes"), "KHÁC")
        shot("verdict-changed")

        driver.get(url.split("/c/")[0] + "/")
        expect("revoked", upload(revoked), "đã bị thu hồi", "Quyết định số 12/QĐ-UBND")
        shot("verdict-revoked")

        driver.get(url)
        driver.find_element(By.ID, "lang-switch").click()
        expect("english", text("#standing"), "This copy is valid.")
        expect("english_genuine", upload(genuine), "Valid electronic certified copy")
        shot("verdict-valid-en")
        seen["html_lang"] = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
    except Exception as e:  # noqa: BLE001 - reported to the Rust test as the reason
        seen["error"] = f"{type(e).__name__}: {e}"
        try:
            driver.save_screenshot(str(out / "failure.png"))
        except Exception:  # noqa: BLE001
            pass
        print(json.dumps(seen, ensure_ascii=False))
        return 1
    finally:
        driver.quit()
    print(json.dumps(seen, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
