"""The kernel-free trajectory player: its runs are sweep's (checked against the one-run reference), it loads nothing
from elsewhere, and in Chromium its sliders redraw the path."""

import json
import re

import pytest
import torch

from relucourse.optim import SGD
from relucourse.player import trajectory_player, trajectory_runs
from relucourse.sweep import trajectory

pytestmark = pytest.mark.optimizers

RUNS = trajectory_runs([-1.0, 0.5], [0.01, 0.5], [0.0, 0.9], steps=40)


def test_runs_are_the_one_run_reference_for_every_setting():
    for m, momentum in enumerate(RUNS["momentum"]):
        for l, lr in enumerate(RUNS["lr"]):
            for s, w0 in enumerate(RUNS["w0"]):
                reference, _ = trajectory(w0, lr=lr, optimizer=(SGD, {"momentum": momentum}), steps=40)
                torch.testing.assert_close(
                    torch.tensor(RUNS["paths"][m][l][s], dtype=torch.float64), reference, atol=5e-5 + 1e-12, rtol=0
                )  # the player keeps 4 decimals


def test_player_holds_the_runs_and_its_sliders_and_nothing_from_elsewhere():
    page = trajectory_player(RUNS, alt="a heavy-ball path", start=(0.5, 0.9, -1.0)).data
    assert not re.search(r"(src|href)=|https?://", page), "the player loads something from elsewhere"
    data = json.loads(re.search(r"<script type=\"application/json\">(.*?)</script>", page, re.DOTALL).group(1))
    assert data == json.loads(json.dumps(RUNS))
    sliders = dict(re.findall(r'name="(\w+)" min="0" max="\d+" step="1" value="(\d+)"', page))
    assert sliders == {"momentum": "1", "lr": "1", "w0": "0"}, f"the sliders do not start at (0.5, 0.9, -1): {sliders}"
    assert 'aria-label="a heavy-ball path"' in page


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="alt"):
        trajectory_player(RUNS, alt=" ")
    with pytest.raises(ValueError, match="momentum"):
        trajectory_runs([-1.0], [0.1], [0.9, 0.9], steps=5)


@pytest.mark.browser
def test_sliders_redraw_the_path_in_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "player.html"
    page_file.write_text(
        f"<!doctype html><meta charset='utf-8'><body>{trajectory_player(RUNS, alt='path').data}</body>"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        page, errors = browser.new_page(), []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(page_file.as_uri())
        drawn = page.locator("polyline.path").get_attribute("points")
        page.locator("input[name=lr]").fill("0")
        redrawn, caption = (
            page.locator("polyline.path").get_attribute("points"),
            page.locator(".caption").text_content(),
        )
        browser.close()
    assert not errors, f"the player's script failed: {errors}"
    assert drawn and redrawn and drawn != redrawn, "moving the step-size slider did not redraw the path"
    assert len(redrawn.split()) == 41 and "η = 0.01" in caption, caption
