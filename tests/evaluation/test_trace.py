from __future__ import annotations

import json

from anyv2v.cli import main


def test_trace_scores_every_sampling_steps_prediction_the_output_the_oracle_start_and_the_vae_ceiling(tmp_path):
    args = ["bench", "--trace", "--clips", "1", "--edits", "recolor", "background", "-o", str(tmp_path / "out"),
            "--steps", "5", "--inversion-steps", "10", "--quiet", "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert main(args) == 0
    report = json.loads((tmp_path / "out" / "trace.json").read_text())
    stages = [row["stage"] for row in report["rows"] if row["edit"] == "recolor"]
    assert stages == ["step 0", "step 1", "step 2", "step 3", "step 4", "output",
                      "output, started from the truth's inversion", "VAE alone (ceiling)"]  # fmt: skip
    rows = {(row["edit"], row["stage"]): row for row in report["rows"]}
    for edit in ("recolor", "background"):
        ceiling = rows[edit, "VAE alone (ceiling)"]
        assert 0.8 < ceiling["carried_first"] <= 1 and 0.8 < ceiling["carried"] <= 1
        # the last step's prediction is what the sampler returns (DDIM's last step lands on its prediction)
        assert abs(rows[edit, "step 4"]["carried"] - rows[edit, "output"]["carried"]) < 0.05
        # started from the edited clip's own inversion, nothing in the start contradicts the condition
        oracle = rows[edit, "output, started from the truth's inversion"]["carried"]
        assert rows[edit, "output"]["carried"] + 0.1 < oracle <= 1
    table = (tmp_path / "out" / "trace.md").read_text()
    assert "| stage | recolor: frame 0 / 1.. | background: frame 0 / 1.. |" in table
    assert "| VAE alone (ceiling) |" in table and "| output |" in table
    assert "| output, started from the truth's inversion |" in table
