"""`dlrun serve`'s page at / in a real headless browser: Debian's Chromium driven through its
ChromeDriver by Selenium (installed by scripts/local-chromium; .ci/run sets
DLRUN_REQUIRE_BROWSER=1 so that a missing browser fails the test instead of skipping it)."""

import os
import shutil

import pytest

from tests.datasets.fixtures import digit_pngs
from tests.processes import QUIET, dlrun
from tests.serve.server import Server

pytestmark = pytest.mark.slow
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("DLRUN_REQUIRE_BROWSER"):
            pytest.fail(
                "DLRUN_REQUIRE_BROWSER is set but chromium/chromedriver are missing: run scripts/local-chromium"
            )
        pytest.skip("no chromium and chromedriver (scripts/local-chromium installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=900,900"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)  # no driver download: Debian's
    yield driver
    driver.quit()


def test_the_page_shows_the_run_and_classifies_an_upload(browser, tmp_path_factory):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    cwd = tmp_path_factory.mktemp("page")
    result = dlrun(*QUIET, "epochs=4", "hydra.run.dir=run", cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    (seven,) = digit_pngs(cwd, [7])
    server = Server(cwd / "run", log=cwd / "serve.log")
    try:
        browser.get(server.url + "/")
        wait = WebDriverWait(browser, 30)
        wait.until(shown.text_to_be_present_in_element((By.ID, "title"), "run"))
        about = browser.find_element(By.ID, "about").text
        assert "classification" in about and "cnn" in about and "val/acc" in about
        browser.find_element(By.ID, "file").send_keys(str(seven))
        browser.find_element(By.ID, "predict").click()
        wait.until(shown.presence_of_element_located((By.ID, "answer")))
        assert browser.find_element(By.ID, "answer").text == "7"
        rows = browser.find_elements(By.CSS_SELECTOR, "#bars .row")
        assert len(rows) == 5 and rows[0].text.startswith("7")
        assert browser.find_element(By.ID, "error").text == ""
        browser.save_screenshot(str(cwd / "page.png"))

        browser.find_element(By.ID, "file").send_keys(str(cwd / "run" / "config.yaml"))  # not an image
        browser.find_element(By.ID, "predict").click()
        wait.until(shown.text_to_be_present_in_element((By.ID, "error"), "not an image"))
        assert browser.find_elements(By.ID, "answer") == []
    finally:
        server.stop()
