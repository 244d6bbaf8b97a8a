"""The web page in a real headless browser (Chromium from the system package manager, driven by
Selenium): enrol two people from photos, identify a photo, see the right name on the page; a
stranger's photo is not given a name."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from test_service import server  # noqa: F401  (the real server process fixture)

webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="needs chromium + chromium-driver (apt-get install chromium chromium-driver; "
                                       ".ci/run installs them)")


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def test_enrol_two_people_and_see_the_right_names(server, browser, lfw_dir: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    client, port = server
    wait = WebDriverWait(browser, 120)
    browser.get(f"http://127.0.0.1:{port}/")
    browser.find_element(By.ID, "token").send_keys("s3cret")
    gallery = browser.find_element(By.ID, "gallery")
    gallery.clear()
    gallery.send_keys("web")
    browser.find_element(By.ID, "create").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "galleries"), "web: 0 people"))
    for person in ("Colin_Powell", "Tony_Blair"):
        name = browser.find_element(By.ID, "name")
        name.clear()
        name.send_keys(person)
        files = "\n".join(str(lfw_dir / person / f"{person}_000{i}.jpg") for i in (1, 2))
        browser.find_element(By.ID, "enrol-files").send_keys(files)
        browser.find_element(By.ID, "enrol").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "enrolled"), f"{person}: +2 image(s)"))
        browser.execute_script("document.getElementById('enrol-files').value = ''")
    for person, expect in (("Tony_Blair", "Tony_Blair"), ("Colin_Powell", "Colin_Powell"), ("George_W_Bush", None)):
        browser.execute_script("document.querySelector('#results tbody').innerHTML = ''")
        browser.find_element(By.ID, "probe").send_keys(str(lfw_dir / person / f"{person}_0010.jpg"))
        browser.find_element(By.ID, "search").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results tbody td.answer"))
        answers = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#results tbody td.answer")]
        if expect:
            assert expect in answers, answers
        else:
            assert not {"Colin_Powell", "Tony_Blair"} & set(answers), answers
