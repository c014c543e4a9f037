"""trainer.profiler: `torch` writes a Chrome trace of a few steps (the model's convolutions among
its events) and the top operators; `simple` the time per phase of the loop."""

import json

from dlrun.engine.profiling import PHASES, read_phases


def test_the_torch_profiler_writes_a_trace_with_the_convolutions(train, tmp_path):
    run_dir = train("epochs=1", "trainer.profiler=torch", "trainer.profile.active=2", run_dir=tmp_path / "run")
    traces = sorted((run_dir / "profile").glob("trace_*.json"))
    assert len(traces) == 1
    events = json.loads(traces[0].read_text())["traceEvents"]
    names = {event.get("name", "") for event in events}
    assert any("convolution" in name for name in names), sorted(names)[:50]
    assert sum(name == "ProfilerStep#2" or name == "ProfilerStep#3" for name in names) == 2  # the active steps
    assert "aten::" in (run_dir / "profile" / "top_ops.txt").read_text()
    said = (run_dir / "train.log").read_text()
    assert "profiler=torch: 1 trace in" in said and "ui.perfetto.dev" in said


def test_with_tensorboard_the_trace_is_in_its_profile_format_too(train, tmp_path):
    run_dir = train("epochs=1", "trainer.profiler=torch", "logger=tensorboard", run_dir=tmp_path / "run")
    assert list((run_dir / "tensorboard" / "profile").glob("*.pt.trace.json"))


def test_the_simple_profiler_times_each_phase(train, tmp_path):
    run_dir = train("epochs=2", "trainer.profiler=simple", run_dir=tmp_path / "run")
    phases = read_phases(run_dir)
    assert list(phases) == list(PHASES)
    assert phases["forward"]["calls"] == phases["backward"]["calls"] == 2 * 21  # 21 batches an epoch
    assert phases["optimizer"]["calls"] == 42 and phases["validation"]["calls"] == 2
    assert phases["data"]["calls"] == 42 and all(p["seconds"] >= 0 for p in phases.values())
    assert abs(sum(p["share"] for p in phases.values()) - 1) < 1e-3
    assert "profiler=simple: time per phase" in (run_dir / "train.log").read_text()
