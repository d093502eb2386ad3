"""The HTML report, driven in a real headless Chromium (Debian's chromium + chromedriver), and
the state at every step it and `sdei replay --show-state` show."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sdei.cli import app
from sdei.explore import explore, save
from sdei.explore.counterexample import Counterexample, replay
from sdei.explore.html_report import report_data
from sdei.testing import require_tool
from sdei.trace.state import Change, StateLog, changes

B7 = "register-hotplug"  # v4.16: a hotplug IPI, a CPU coming up, a register racing it


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    report = explore(B7, era="v4.16", strategy="dfs")
    assert report.counterexample is not None
    return save(report, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_tool("chromium", "chromium")
    driver_path = require_tool("chromedriver", "chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900"):
        options.add_argument(arg)
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _open(browser: Any, page: Path) -> None:
    browser.get(page.as_uri())


def _click_step(browser: Any, step: int) -> None:
    from selenium.webdriver.common.by import By

    row = browser.find_element(By.CSS_SELECTOR, f'tr.row[data-step="{step}"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.click()


def _inspected(browser: Any) -> tuple[int, dict[tuple[str, str], tuple[str, bool]]]:
    """The selected step and the inspector's items: (group, item) -> (text, changed)."""
    from selenium.webdriver.common.by import By

    step = int(browser.find_element(By.ID, "inspected").get_attribute("data-step"))
    items = {}
    for e in browser.find_elements(By.CSS_SELECTOR, "#inspector .item"):
        key = (e.get_attribute("data-group"), e.get_attribute("data-item"))
        items[key] = (e.text, "changed" in e.get_attribute("class").split())
    return step, items


def _step_of(cx: Counterexample, pe: int, text: str) -> int:
    outcome = replay(cx)
    step: int = next(r.step for r in outcome.records if r.pe == pe and r.text.startswith(text))
    return step


def test_report_opens_offline_and_shows_the_violation(
    browser: Any, written: dict[str, Path]
) -> None:
    from selenium.webdriver.common.by import By

    page = written["report"]
    text = page.read_text()
    # Self-contained: nothing fetched from anywhere (no src/href to a network address).
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    _open(browser, page)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    cx = Counterexample.load(written["replay"])
    v = cx.violation
    assert v.invariant in browser.find_element(By.ID, "violation").text
    # The violation sits in the row of its step, in the column of its PE.
    cell = browser.find_element(By.ID, "violation-cell")
    row = cell.find_element(By.XPATH, "./ancestor::tr")
    assert row.get_attribute("data-step") == str(v.step)
    column = browser.execute_script("return arguments[0].parentElement.cellIndex", cell)
    assert column == 1 + (v.pe or 0)
    # It opens on the violation's step.
    step, _ = _inspected(browser)
    assert step == v.step


def test_clicking_a_step_shows_its_state_and_what_changed(
    browser: Any, written: dict[str, Path]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    cx = Counterexample.load(written["replay"])
    register = _step_of(cx, 1, "REGISTER(0")  # the cross-call registers event 0 on CPU1
    _open(browser, written["report"])
    _click_step(browser, register)
    step, items = _inspected(browser)
    assert step == register
    text, changed = items[("firmware", "event 0x0 @PE1")]
    assert text.startswith("event 0x0 @PE1: registered") and changed
    # Unchanged state is shown too, not marked.
    assert items[("PE0", "power")] == ("power: on", False)
    heading = browser.find_element(By.ID, "inspector").text
    assert "PE1: REGISTER(0" in heading
    # The keyboard moves to the next step; the state there is the one after it.
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_DOWN)
    after, items = _inspected(browser)
    assert after > register
    assert items[("firmware", "event 0x0 @PE1")] == ("event 0x0 @PE1: registered", False)
    # The set-up row shows the state the set-up left: CPU2 off, the event not registered.
    _click_step(browser, cx_setup_steps(written))
    _, items = _inspected(browser)
    assert items[("PE2", "power")][0] == "power: off"
    assert ("firmware", "event 0x0 @PE1") not in items


def cx_setup_steps(written: dict[str, Path]) -> int:
    html = written["report"].read_text()
    data = json.loads(html.split('id="sdei-data">', 1)[1].split("</script>", 1)[0])
    setup: int = data["setup_steps"]
    return setup


def test_ipis_are_drawn_as_arrows(browser: Any, written: dict[str, Path]) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, written["report"])
    kinds = [
        p.get_attribute("data-kind")
        for p in browser.find_elements(By.CSS_SELECTOR, "#arrows path[data-kind]")
    ]
    assert "IPI" in kinds


def test_state_changes_are_exact() -> None:
    before = {"PE0": {"power": "on", "SDEI": "masked"}, "locks": {"a": "held by x (PE0)"}}
    after = {"PE0": {"power": "on", "SDEI": "unmasked", "thread": "t"}, "locks": {}}
    assert changes(before, after) == [
        Change("PE0", "SDEI", "masked", "unmasked"),
        Change("PE0", "thread", None, "t"),
        Change("locks", "a", "held by x (PE0)", None),
    ]
    assert changes(after, after) == []


def test_the_state_log_follows_the_run(written: dict[str, Path]) -> None:
    cx = Counterexample.load(written["replay"])
    outcome = replay(cx, observers=[StateLog])
    log = outcome.observers[0]
    last = log.states[cx.violation.step]  # the violating step is recorded as it stopped
    assert last["kernel linux"]["cpu_online_mask"] == "0-2"
    first = log.states[log.first]
    assert first["PE2"]["power"] == "off"
    # Every lock the run took shows its holder at some step, named by thread and PE.
    held = {v for s in log.states.values() for v in s["locks"].values()}
    assert any(v.startswith("held by register event 0 (PE0)") for v in held)
    # Deterministic: a second replay gives the same data, byte for byte.
    again = replay(cx, observers=[StateLog])
    first_data = report_data(cx, outcome, log)
    second_data = report_data(cx, again, again.observers[0])
    assert json.dumps(first_data) == json.dumps(second_data)


def test_replay_show_state_prints_the_changes(written: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        app, ["replay", str(written["replay"]), "--show-state"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1, result.output
    assert "state after set-up" in result.output
    assert re.search(r"firmware event 0x0 @PE1: registered\n", result.output)
    assert "PE2 power: off → on" in result.output
    assert f"report: {written['replay'].with_name(written['report'].name)}" in result.output
