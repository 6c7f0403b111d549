"""Flow files as the shell loads them: a template must exist, the file must exist."""

from __future__ import annotations

import pytest

from vroeg.collection.flows import active_flow, load_flow_file
from vroeg.domain.flow import FlowError


def test_the_bundled_flow_loads():
    flow = active_flow()
    assert flow.name == "sociaal-incasseren" and flow.version == 5
    assert [s.id for s in flow.segments][-1] == "standard"
    assert flow.ladder("standard")[0].id == "reminder_friendly"
    assert flow.ladder("debt_help") == ()


def test_unknown_template_is_refused_on_load(tmp_path):
    f = tmp_path / "beleid.yaml"
    f.write_text("name: x\nversion: 1\nsteps:\n  - id: a\n    action: message\n"
                 "    template: herinnering_vriendelijk\n    channels: [email]\n"
                 "    when: {days_overdue_at_least: 5}\n", encoding="utf-8")
    with pytest.raises(FlowError, match="herinnering_vriendelijk") as exc:
        load_flow_file(f)
    assert "beleid.yaml" in str(exc.value) and "steps[0]" in str(exc.value)


def test_missing_flow_file_is_a_flow_error(settings, tmp_path):
    settings.VROEG_FLOW_FILE = str(tmp_path / "weg.yaml")
    with pytest.raises(FlowError, match="niet gevonden"):
        active_flow()


def test_yaml_error_names_the_line(tmp_path):
    f = tmp_path / "kapot.yaml"
    f.write_text("name: x\nversion: 1\nsteps: [\n  - id: a\n", encoding="utf-8")
    with pytest.raises(FlowError, match="regel/line"):
        load_flow_file(f)
